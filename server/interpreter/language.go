package interpreter

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	_ "embed"
)

// Debian ships no bash Jupyter kernel, so a bash context is an ipykernel
// whose cells are handed to a persistent bash process by bash_helper.py:
// variables, functions and the working directory persist between
// executions like in a terminal.
//
//go:embed bash_helper.py
var bashHelper string

// kernelInit configures every kernel: inline matplotlib figures keep the
// size they were given (figsize × dpi) instead of being cropped to their
// tight bounding box.
const kernelInit = `try:
    from matplotlib_inline.config import InlineBackend as __e2b_inline
    __e2b_inline.instance(parent=get_ipython()).print_figure_kwargs = {"bbox_inches": None}
    del __e2b_inline
except ImportError:
    pass`

// language adapts one context language to the Python kernel that runs it.
type language interface {
	// name is the normalised language name reported to clients.
	name() string
	// setup is run silently once the kernel has started.
	setup() string
	// wrap turns user code into the code the kernel executes.
	wrap(code string) string
	// exportEnv sets environment variables for good.
	exportEnv(vars map[string]string) string
	// setEnv sets environment variables and remembers the previous values.
	setEnv(vars map[string]string) string
	// restoreEnv restores what the last setEnv changed.
	restoreEnv() string
}

// supportedLanguages lists the languages in error messages.
const supportedLanguages = "python, bash"

// normaliseLanguage applies the SDK's spelling rules: empty ⇒ python,
// trimmed and lower-cased, js ⇒ javascript, ts ⇒ typescript.
func normaliseLanguage(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return "python"
	case "js":
		return "javascript"
	case "ts":
		return "typescript"
	}
	return s
}

// lookupLanguage returns the adapter for a normalised language name.
func lookupLanguage(name string) (language, error) {
	switch name {
	case "python":
		return pythonLanguage{}, nil
	case "bash":
		return bashLanguage{}, nil
	}
	return nil, badRequest("unsupported language %q: supported languages are %s", name, supportedLanguages)
}

// pyLiteral encodes a value as a Python literal (JSON strings, numbers and
// objects of strings are valid Python).
func pyLiteral(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode python literal: %v", err))
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type pythonLanguage struct{}

func (pythonLanguage) name() string            { return "python" }
func (pythonLanguage) setup() string           { return kernelInit }
func (pythonLanguage) wrap(code string) string { return code }

func (pythonLanguage) exportEnv(vars map[string]string) string {
	return "import os as __e2b_os\n__e2b_os.environ.update(" + pyLiteral(vars) + ")\ndel __e2b_os"
}

func (pythonLanguage) setEnv(vars map[string]string) string {
	return "import os as __e2b_os\n" +
		"__e2b_saved_env = {k: __e2b_os.environ.get(k) for k in " + pyLiteral(sortedKeys(vars)) + "}\n" +
		"__e2b_os.environ.update(" + pyLiteral(vars) + ")\n" +
		"del __e2b_os"
}

func (pythonLanguage) restoreEnv() string {
	return "import os as __e2b_os\n" +
		"for __e2b_k, __e2b_v in globals().pop('__e2b_saved_env', {}).items():\n" +
		"    if __e2b_v is None:\n" +
		"        __e2b_os.environ.pop(__e2b_k, None)\n" +
		"    else:\n" +
		"        __e2b_os.environ[__e2b_k] = __e2b_v\n" +
		"del __e2b_os"
}

type bashLanguage struct{}

func (bashLanguage) name() string  { return "bash" }
func (bashLanguage) setup() string { return kernelInit + "\n" + bashHelper }

func (bashLanguage) wrap(code string) string {
	return "__e2b_bash.run(" + pyLiteral(code) + ")"
}

func (bashLanguage) exportEnv(vars map[string]string) string {
	return "__e2b_bash.export(" + pyLiteral(vars) + ")"
}

func (bashLanguage) setEnv(vars map[string]string) string {
	return "__e2b_bash.set_env(" + pyLiteral(vars) + ")"
}

func (bashLanguage) restoreEnv() string { return "__e2b_bash.restore_env()" }

package framework

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// ImportID is the shape of a composite import identifier: Parts joined by Sep, of which the first
// Optional parts may be left out. For example "<endpoint>|<name>" with one optional part accepts
// "warm" and "http://127.0.0.1:3000|warm"; "<vpc_id>/<id>" with none requires both.
type ImportID struct {
	Sep   string
	Parts []string
	// Optional is how many leading parts may be omitted.
	Optional int
	// Example is shown in the error (a full identifier).
	Example string
}

// Parse splits raw into len(Parts) values (omitted leading parts are ""), trimming spaces around
// each. The last part may contain Sep (only the first separators split). On a malformed identifier
// it adds an "Unexpected Import Identifier" error and returns nil.
func (f ImportID) Parse(raw string, diags *diag.Diagnostics) []string {
	n := len(f.Parts)
	fields := strings.SplitN(raw, f.Sep, n)
	ok := len(fields) >= n-f.Optional
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
		if fields[i] == "" {
			ok = false
		}
	}
	if !ok {
		diags.AddError("Unexpected Import Identifier", fmt.Sprintf("Expected %s, got %q.", f.describe(), raw))
		return nil
	}
	return append(make([]string, n-len(fields)), fields...)
}

// Format joins parts into an identifier, leaving out empty optional leading parts.
func (f ImportID) Format(parts ...string) string {
	i := 0
	for i < f.Optional && i < len(parts) && parts[i] == "" {
		i++
	}
	return strings.Join(parts[i:], f.Sep)
}

func (f ImportID) describe() string {
	var forms []string
	for skip := f.Optional; skip >= 0; skip-- {
		var names []string
		for _, p := range f.Parts[skip:] {
			names = append(names, "<"+p+">")
		}
		forms = append(forms, strings.Join(names, f.Sep))
	}
	s := strings.Join(forms, " or ")
	if f.Example != "" {
		s += fmt.Sprintf(" (for example %s)", f.Example)
	}
	return s
}

#!/usr/bin/env bash
# End-to-end conformance suite: the real E2B JS SDKs (e2b 2.51.0 and 2.50.0) against envd, in SDK debug
# mode and through the sandbox manager (control plane + gateway + local runtime).
#   ENVD_BIN=/path/to/bin/envd [MANAGER_BIN=/path/to/bin/sandbox-manager] server/e2e/run.sh [test files…]
# MANAGER_BIN defaults to sandbox-manager beside ENVD_BIN. E2E_MODES is a comma-separated
# list of debug, manager and kube (the manager on the kube runtime; needs kube-testenv beside ENVD_BIN or
# KUBE_TESTENV_BIN, and `make kube-apiserver`); debug,manager by default.
# E2E_ENVD_LOG=1 copies envd's log to stderr, E2E_MANAGER_LOG=1 the manager's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source lib/common.sh
require_envd_bin
if [[ ",${E2E_MODES:-debug,manager}," == *,manager,* || ",${E2E_MODES:-}," == *,kube,* ]]; then
  require_manager_bin
fi
ensure_node_modules

# Every test file starts its own envd on :49983 (the SDK's debug port): files must run one at a time.
if [[ $# -gt 0 ]]; then
  exec node --test --test-concurrency=1 "$@"
fi
exec node --test --test-concurrency=1 test/

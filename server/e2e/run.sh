#!/usr/bin/env bash
# End-to-end conformance suite: the real E2B JS SDKs (e2b 2.51.0 and 2.50.0) against envd.
#   ENVD_BIN=/path/to/bin/envd server/e2e/run.sh [test files…]     (`make e2e` builds envd first)
# E2E_ENVD_LOG=1 copies envd's log to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source lib/common.sh
require_envd_bin
ensure_node_modules

# Every test file starts its own envd on :49983 (the SDK's debug port): files must run one at a time.
if [[ $# -gt 0 ]]; then
  exec node --test --test-concurrency=1 "$@"
fi
exec node --test --test-concurrency=1 test/

#!/usr/bin/env bash
# envd benchmark through the real SDK: command round trip, transfer throughput, idle RSS.
#   ENVD_BIN=/path/to/bin/envd server/e2e/bench.sh        (`make bench` builds envd first)
# BENCH_N (default 50) round trips, BENCH_FILE_MIB (default 256) transfer size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source lib/common.sh
require_envd_bin
ensure_node_modules
exec node bench/envd-bench.mjs

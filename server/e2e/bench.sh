#!/usr/bin/env bash
# Benchmarks through the real SDK: envd alone (command round trip, transfer throughput, idle RSS), then
# the sandbox manager (create latency cold/warm pool, gateway overhead, creates/s, idle memory).
#   ENVD_BIN=/path/to/bin/envd [MANAGER_BIN=/path/to/bin/sandbox-manager] server/e2e/bench.sh
# MANAGER_BIN defaults to sandbox-manager beside ENVD_BIN. BENCH=envd or BENCH=manager runs one.
# envd: BENCH_N (default 50) round trips, BENCH_FILE_MIB (default 256) transfer size.
# manager: BENCH_CREATE_N (20), BENCH_N (50), BENCH_RATE_N (32 creates per level), BENCH_POOL (4).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source lib/common.sh
require_envd_bin
ensure_node_modules
case "${BENCH:-all}" in
  envd) exec node bench/envd-bench.mjs ;;
  manager) require_manager_bin; exec node bench/manager-bench.mjs ;;
  *)
    require_manager_bin
    node bench/envd-bench.mjs
    echo
    exec node bench/manager-bench.mjs
    ;;
esac

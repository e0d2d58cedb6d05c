#!/usr/bin/env bash
# Benchmarks through the real SDK: envd alone (command round trip, transfer throughput, idle RSS), then
# the sandbox manager (create latency cold/warm pool, gateway overhead, creates/s, idle memory), the
# desktop and browser templates (create→ready, idle memory) and the kube runtime (pool claims against a
# real kube-apiserver).
#   ENVD_BIN=/path/to/bin/envd [MANAGER_BIN=/path/to/bin/sandbox-manager] server/e2e/bench.sh
# MANAGER_BIN defaults to sandbox-manager beside ENVD_BIN. BENCH=envd|manager|desktop|browser|kube runs
# one (kube needs kube-testenv beside ENVD_BIN: `make kube-testenv`).
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
  desktop) require_manager_bin; exec node bench/desktop-bench.mjs ;;
  browser) require_manager_bin; exec node bench/browser-bench.mjs ;;
  kube) require_manager_bin; exec node bench/kube-bench.mjs ;;
  *)
    require_manager_bin
    for b in envd manager desktop browser kube; do
      node "bench/$b-bench.mjs"
      echo
    done
    ;;
esac

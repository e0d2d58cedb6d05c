# Sourced by run.sh and bench.sh (cwd = server/e2e): checks ENVD_BIN/MANAGER_BIN and installs the pinned packages.

require_envd_bin() {
  if [[ -z "${ENVD_BIN:-}" ]]; then
    echo "$0: ENVD_BIN is not set; build envd with 'make build' and run: ENVD_BIN=\$PWD/bin/envd server/e2e/$(basename "$0")" >&2
    exit 2
  fi
  if [[ ! -f "$ENVD_BIN" || ! -x "$ENVD_BIN" ]]; then
    echo "$0: ENVD_BIN=$ENVD_BIN is not an executable file; build it with 'make build'" >&2
    exit 2
  fi
  ENVD_BIN="$(cd "$(dirname "$ENVD_BIN")" && pwd)/$(basename "$ENVD_BIN")"
  export ENVD_BIN
}

# MANAGER_BIN defaults to sandbox-manager beside ENVD_BIN (both are written to bin/ by `make build`).
require_manager_bin() {
  MANAGER_BIN="${MANAGER_BIN:-$(dirname "$ENVD_BIN")/sandbox-manager}"
  if [[ ! -f "$MANAGER_BIN" || ! -x "$MANAGER_BIN" ]]; then
    echo "$0: MANAGER_BIN=$MANAGER_BIN is not an executable file; build it with 'make build' (or set MANAGER_BIN, or E2E_MODES=debug to skip the manager)" >&2
    exit 2
  fi
  MANAGER_BIN="$(cd "$(dirname "$MANAGER_BIN")" && pwd)/$(basename "$MANAGER_BIN")"
  export MANAGER_BIN
}

# npm ci only when node_modules is missing or older than the lockfile (npm ci rewrites
# node_modules/.package-lock.json, so a finished install is newer than package-lock.json).
ensure_node_modules() {
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

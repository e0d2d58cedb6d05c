# Sourced by run.sh and bench.sh (cwd = server/e2e): checks ENVD_BIN and installs the pinned packages.

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

# npm ci only when node_modules is missing or older than the lockfile (npm ci rewrites
# node_modules/.package-lock.json, so a finished install is newer than package-lock.json).
ensure_node_modules() {
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

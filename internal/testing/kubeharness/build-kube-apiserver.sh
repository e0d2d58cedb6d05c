#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager from the k8s.io/kubernetes Go module into a cache
# directory, once.
#
#   SANDBOX_KUBE_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/sandboxstack/kube-<version>)
#   KUBE_VERSION        k8s.io/kubernetes version (default v1.37.2)
#   KUBE_COMPONENTS     which commands to build (default "kube-apiserver kube-controller-manager")
#   GO                  go command (default go)
#
# Idempotent per binary: when <cache>/<component> exists and <cache>/<component>.version records the
# same version, it is not built again. The build happens in <cache>/build with a go.mod generated from
# kube-apiserver.go.mod.tmpl; go.sum is filled from the module proxy at build time. The repository's own
# go.mod is never touched.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
GO=${GO:-go}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SANDBOX_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandboxstack/kube-$KUBE_VERSION}
KUBE_COMPONENTS=${KUBE_COMPONENTS:-kube-apiserver kube-controller-manager}

missing=()
for component in $KUBE_COMPONENTS; do
  case $component in
    kube-apiserver | kube-controller-manager) ;;
    *) echo "unknown component $component (want kube-apiserver or kube-controller-manager)" >&2; exit 2 ;;
  esac
  bin=$cache/$component
  stamp=$cache/$component.version
  if [[ -x $bin && -f $stamp && $(cat "$stamp") == "$KUBE_VERSION" ]]; then
    echo "$component $KUBE_VERSION already built: $bin"
  else
    missing+=("$component")
  fi
done
[[ ${#missing[@]} -gt 0 ]] || exit 0

# The staging modules are published as v0.<minor>.<patch> for kubernetes v1.<minor>.<patch>.
staging_version=v0.${KUBE_VERSION#v1.}
work=$cache/build
mkdir -p "$work"
cd "$work"

# The replace list comes from k8s.io/kubernetes's own go.mod: every `k8s.io/x => ./staging/...` line whose
# module kubernetes also requires (sample-cli-plugin and sample-controller are replaced there but neither
# required nor published).
upstream_mod=$work/kubernetes.go.mod
GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >"$work/download.json"
gomod_path=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$work/download.json")
[[ -f $gomod_path ]] || { echo "cannot find k8s.io/kubernetes@$KUBE_VERSION's go.mod (see $work/download.json)" >&2; exit 1; }
cp "$gomod_path" "$upstream_mod"
chmod u+w "$upstream_mod"

required=$(awk '/^require \(/{in_req=1; next} in_req && /^\)/{in_req=0} in_req && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$upstream_mod")
replaces=""
while read -r module; do
  if grep -qx "$module" <<<"$required"; then
    replaces+=$'\t'"$module => $module $staging_version"$'\n'
  fi
done < <(awk '/^replace \(/{in_rep=1; next} in_rep && /^\)/{in_rep=0} in_rep && $2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$upstream_mod")
[[ -n $replaces ]] || { echo "no staging replace lines found in $upstream_mod" >&2; exit 1; }

go_version=$(awk '$1 == "go" {print $2; exit}' "$upstream_mod")
awk -v go="$go_version" -v kube="$KUBE_VERSION" -v reps="${replaces%$'\n'}" '
  { gsub(/@GO_VERSION@/, go); gsub(/@KUBE_VERSION@/, kube) }
  /^@REPLACES@$/ { print reps; next }
  { print }' "$here/kube-apiserver.go.mod.tmpl" >go.mod
rm -f go.sum

# Version metadata as Kubernetes' own build (hack/lib/version.sh) stamps it, so /version and the
# compatibility checks see the real release instead of v0.0.0-master.
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

for component in "${missing[@]}"; do
  bin=$cache/$component
  echo "building $component $KUBE_VERSION in $work (cold on 2 idle cores: kube-apiserver about 4 minutes, kube-controller-manager 1.5 more)"
  start=$(date +%s)
  GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off \
    "$GO" build -trimpath -ldflags="$ldflags" -o "$bin.tmp" "k8s.io/kubernetes/cmd/$component"
  mv "$bin.tmp" "$bin"
  echo "$KUBE_VERSION" >"$cache/$component.version"
  echo "built $bin in $(( $(date +%s) - start ))s"
done

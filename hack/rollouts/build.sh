#!/usr/bin/env bash
# Compiles Argo Rollouts' controller from the Go module proxy into a cache directory keyed by
# its version, and prints the binary's path, then the directory holding its CRDs. Does
# nothing when they are there.
#
# The controller builds from a wrapper module (./controller) that copies argo-rollouts'
# replace directives, so its dependency set never reaches Haul's go.mod. argo-rollouts
# v1.10.2 declares go 1.26.10, newer than the installed toolchain, so this one build (and
# only it) runs under GOTOOLCHAIN=go1.27.3, which the go command fetches from the proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v1.10.2
toolchain=go1.27.3
cache_root=${HAUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haul}
out="$cache_root/argo-rollouts-$version"
mkdir -p "$out/crds"
export GOTOOLCHAIN=$toolchain CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ ! -x "$out/rollouts-controller" ]; then
  echo "building argo-rollouts $version with $toolchain into $out (several minutes on 2 cores)" >&2
  start=$SECONDS
  (cd "$here/controller" && go build -trimpath -ldflags "-s -w" -o "$out/rollouts-controller.tmp.$$" \
    github.com/argoproj/argo-rollouts/cmd/rollouts-controller \
    && mv "$out/rollouts-controller.tmp.$$" "$out/rollouts-controller")
  echo "built rollouts-controller in $((SECONDS - start))s" >&2
fi
# The CRDs (Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment) ship
# in the module's manifests/crds: copy them beside the binary, keyed by the same version.
if ! ls "$out/crds/"*analysis-template-crd.yaml >/dev/null 2>&1; then
  dir=$(cd "$here/controller" && go mod download -json github.com/argoproj/argo-rollouts | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir/manifests/crds" ] || { echo "no CRDs in $dir/manifests/crds" >&2; exit 1; }
  cp "$dir/manifests/crds/"*-crd.yaml "$out/crds/"
  chmod u+w "$out/crds/"*
fi
echo "$out/rollouts-controller"
echo "$out/crds"

#!/usr/bin/env bash
# Compiles Argo CD's multi-call binary (application controller, repo server, ...) from the
# Go module proxy into a cache directory keyed by version, and prints the binary's path.
# Does nothing when the binary is already there. See /work/shared/docs/argocd-local.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v3.5.7
cache_root=${HAUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haul}
out="$cache_root/argocd/$version"
mkdir -p "$out"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ ! -x "$out/argocd" ]; then
  echo "building argocd $version into $out (about 5 minutes on 2 cores)" >&2
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$out/argocd.tmp" github.com/argoproj/argo-cd/v3/cmd \
    && mv "$out/argocd.tmp" "$out/argocd")
fi
# The repo server renders kustomize sources with a kustomize binary on its PATH, as the
# Argo CD image ships one.
if [ ! -x "$out/kustomize" ]; then
  echo "building kustomize v5.7.1 into $out" >&2
  GOBIN="$out" go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
fi
echo "$out/argocd"

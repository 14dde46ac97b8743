#!/usr/bin/env bash
# Compiles Flux's source-controller and kustomize-controller from the Go module proxy into
# a cache directory keyed by their versions, and prints the two binaries' paths (source
# first), then the directory holding Flux's CRDs. Does nothing when the binaries are there.
#
# Each controller builds from its own wrapper module (./source-controller,
# ./kustomize-controller) that copies the controller's replace directives except its
# local ./api one, so Flux's dependency set never reaches Haul's go.mod.
# helm-controller is not served by the module proxy, so it is not built here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_version=v1.9.6
kustomize_version=v1.9.6
cache_root=${HAUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haul}
out="$cache_root/flux-source-$source_version-kustomize-$kustomize_version"
mkdir -p "$out/crds"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

build() { # build NAME VERSION
  local name=$1 version=$2
  if [ ! -x "$out/$name" ]; then
    echo "building $name $version into $out (about 2-3 minutes on 2 cores)" >&2
    local start=$SECONDS
    (cd "$here/$name" && go build -trimpath -ldflags "-s -w" -o "$out/$name.tmp" "github.com/fluxcd/$name" \
      && mv "$out/$name.tmp" "$out/$name")
    echo "built $name in $((SECONDS - start))s" >&2
  fi
  # The CRDs ship inside the module: copy them next to the binary so tests need no module
  # cache lookup (and the copy is never stale, being keyed by the same version).
  if ! ls "$out/crds/"*"$name"* >/dev/null 2>&1; then
    local dir
    dir=$(cd "$here/$name" && go mod download -json "github.com/fluxcd/$name" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [ -d "$dir/config/crd/bases" ] || { echo "no CRDs in $dir/config/crd/bases" >&2; exit 1; }
    for f in "$dir/config/crd/bases/"*.yaml; do
      cp "$f" "$out/crds/$name-$(basename "$f")"
    done
    chmod u+w "$out/crds/"*
  fi
}

build source-controller "$source_version"
build kustomize-controller "$kustomize_version"
echo "$out/source-controller"
echo "$out/kustomize-controller"
echo "$out/crds"

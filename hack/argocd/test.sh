#!/usr/bin/env bash
# Runs Haul's Argo CD integration tests (build tag `argocd`, package ./test/argocd):
# builds Argo CD if needed, then runs the compiled test binary inside a network
# namespace that has only loopback, because Argo CD's application controller binds its
# metrics listener on every interface. Needs root (ip netns), git and redis-server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export GOTOOLCHAIN=local

command -v redis-server >/dev/null || { echo "redis-server is required: apt-get install -y redis-server" >&2; exit 1; }
binary=$("$here/build.sh")
crds=$(cd "$here" && go mod download -json github.com/argoproj/argo-cd/v3 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/manifests/crds
[ -f "$crds/application-crd.yaml" ] || { echo "Argo CD CRDs not found in $crds" >&2; exit 1; }

work=$(mktemp -d)
netns="haul-argocd-$$"
cleanup() {
  ip netns delete "$netns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go test -c -tags argocd -o "$work/argocd.test" ./test/argocd)
# The network namespace has no route to the module proxy: build haul before entering it.
haul_bin=${HAUL_BIN:-}
if [ -z "$haul_bin" ]; then
  haul_bin="$work/haul"
  (cd "$root" && go build -o "$haul_bin" ./cmd/haul)
fi
ip netns add "$netns"
ip netns exec "$netns" ip link set lo up
# Run from the package directory, as `go test` does, so the tests find their testdata.
cd "$root/test/argocd"
ip netns exec "$netns" env HAUL_ARGOCD_BINARY="$binary" HAUL_ARGOCD_CRDS="$crds" HAUL_BIN="$haul_bin" \
  "$work/argocd.test" -test.v -test.timeout 15m "$@"

#!/usr/bin/env bash
# Compiles kube-apiserver, kube-controller-manager and etcd from the Go module proxy into a
# cache directory keyed by version, and prints that directory. Does nothing when the
# binaries are already there (a cache from before kube-controller-manager gets just that).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.37.1
etcd_version=v3.6.7
cache_root=${HAUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haul}
out="$cache_root/controlplane/k8s-$k8s_version-etcd-$etcd_version"
mkdir -p "$out"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ ! -x "$out/etcd" ]; then
  echo "building etcd $etcd_version into $out" >&2
  (cd "$here/etcd" && go build -trimpath -o "$out/etcd.tmp" . && mv "$out/etcd.tmp" "$out/etcd")
fi
if [ ! -x "$out/kube-apiserver" ]; then
  echo "building kube-apiserver $k8s_version into $out (about 6 minutes on 2 cores)" >&2
  (cd "$here/kube-apiserver" && go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" \
    -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && mv "$out/kube-apiserver.tmp" "$out/kube-apiserver")
fi
if [ ! -x "$out/kube-controller-manager" ]; then
  echo "building kube-controller-manager $k8s_version into $out (about 2 more minutes)" >&2
  (cd "$here/kube-apiserver" && go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" \
    -o "$out/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager && mv "$out/kube-controller-manager.tmp" "$out/kube-controller-manager")
fi
echo "$out"

#!/usr/bin/env bash
# Compiles the Gitea server from the Go module proxy into a cache directory keyed by
# version, and prints the binary's path. Does nothing when the binary is already there.
# The pull-request steps (git-open-pr, git-wait-for-pr, git-merge-pr) are tested against
# it: see internal/testservers/gitea.go.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v1.26.0
cache_root=${HAUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/haul}
out="$cache_root/gitea-$version"
mkdir -p "$out"
# SQLite needs cgo; sqlite_unlock_notify is the tag Gitea's own release builds use with it.
export GOTOOLCHAIN=local CGO_ENABLED=1 GOFLAGS=-mod=mod
tags='sqlite sqlite_unlock_notify'

if [ ! -x "$out/gitea" ]; then
  echo "building gitea $version into $out (measured: 8 minutes on 2 cores shared with other builds)" >&2
  (cd "$here" && go build -trimpath -tags "$tags" \
      -ldflags "-s -w -X 'main.Version=${version#v}' -X 'main.Tags=$tags'" \
      -o "$out/gitea.tmp" code.gitea.io/gitea \
    && mv "$out/gitea.tmp" "$out/gitea")
fi
echo "$out/gitea"

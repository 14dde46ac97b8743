#!/usr/bin/env bash
# Runs each fuzzer given as package:FuzzName for FUZZTIME.
#
# Go's fuzzing coordinator can end a duration-bounded run with a bare
# "context deadline exceeded" when a worker is still busy as the -fuzztime
# deadline passes (golang/go#75804; it happens on loaded machines). That is no
# finding: a real one prints "Failing input written to" and leaves a file under
# testdata/fuzz. So a failure of exactly that shape is run again once with a
# count budget (-fuzztime Nx), which sets no deadline and cannot hit the race;
# every other failure fails at once.
set -uo pipefail
fuzztime=${FUZZTIME:-10s}
count=${FUZZCOUNT:-5000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

deadline_only() {
  grep -q 'context deadline exceeded' "$log" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"
}

for f in "$@"; do
  pkg=${f%%:*} name=${f#*:}
  echo "== $name ($pkg)"
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    tail -n 3 "$log"
    continue
  fi
  cat "$log"
  if ! deadline_only; then
    exit 1
  fi
  echo "== $name: the coordinator's deadline race, no input found; again with -fuzztime $count"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$count" "$pkg" || exit 1
done

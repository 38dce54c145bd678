#!/usr/bin/env bash
# fuzz.sh — run every fuzz target (matching $FUZZ) in the given packages for
# $FUZZTIME each. go test -fuzz accepts one package and one target at a time,
# so this lists the targets first.
#
# Usage: FUZZ=regexp FUZZTIME=30s scripts/fuzz.sh [packages...]   (default ./...)
set -euo pipefail

GO=${GO:-go}
FUZZ=${FUZZ:-.}
FUZZTIME=${FUZZTIME:-30s}
[ $# -gt 0 ] || set -- ./...

ran=0
for pkg in $("$GO" list "$@"); do
	# go test -list prints matching names and a final "ok" line.
	for target in $("$GO" test -list "$FUZZ" "$pkg" | grep '^Fuzz' || true); do
		echo "==> fuzzing $pkg $target for $FUZZTIME"
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
		ran=$((ran + 1))
	done
done
echo "fuzz: ran $ran target(s)"

#!/usr/bin/env bash
# setup-ort.sh — obtain the ONNX Runtime CPU shared library for routekit.
#
# The library is taken out of the onnxruntime-node npm package with
# `npm pack` (download only: no install scripts run, no node_modules; a plain
# `npm install` would run a postinstall that fetches a CUDA add-on). Only the
# file package/bin/napi-v6/linux/x64/libonnxruntime.so.1 is extracted.
#
# Usage: scripts/setup-ort.sh [DEST_DIR]     (default: .cache/ort)
# Env:   ORT_VERSION (default 1.30.0)
# Prints the path of the library on stdout. Does nothing if it is already there.
set -euo pipefail

ORT_VERSION=${ORT_VERSION:-1.30.0}
DEST=${1:-.cache/ort}
LIB="$DEST/libonnxruntime.so.$ORT_VERSION"
MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

if [ -s "$LIB" ]; then
	echo "$LIB"
	exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "setup-ort: npm not found; it is needed to download onnxruntime-node@$ORT_VERSION." >&2
	echo "setup-ort: install it with:  sudo apt-get install -y npm" >&2
	exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
	echo "setup-ort: only linux/x64 is supported (this is $(uname -s)/$(uname -m))." >&2
	exit 1
fi

mkdir -p "$DEST"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/routekit-ort.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "setup-ort: downloading onnxruntime-node@$ORT_VERSION (npm pack) ..." >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
if [ ! -f "$tgz" ]; then
	echo "setup-ort: npm pack did not produce $tgz" >&2
	exit 1
fi
tar xzf "$tgz" -C "$tmp" "$MEMBER"
if [ ! -s "$tmp/$MEMBER" ]; then
	echo "setup-ort: $MEMBER is missing or empty in the package" >&2
	exit 1
fi
# Move into place atomically so an interrupted run never leaves a partial file.
mv "$tmp/$MEMBER" "$LIB.partial"
mv "$LIB.partial" "$LIB"
if [ ! -s "$LIB" ]; then
	echo "setup-ort: $LIB is missing or empty after extraction" >&2
	exit 1
fi
echo "setup-ort: installed $LIB ($(du -h "$LIB" | cut -f1))" >&2
echo "$LIB"

#!/usr/bin/env bash
# loadtest.sh — serving performance figures, run by `make loadtest`.
#
# Synthesises the demo world, trains an mf and an irt artifact with the
# built-in encoder (20 models) and the same two with the tiny ONNX test
# encoder, then for each: starts `routekit serve` on loopback, waits for
# /readyz, and runs `routekit loadgen` in an open loop at $RATE requests/s
# ($ONNX_RATE for the ONNX encoder, which cannot keep up with $RATE) and in
# a closed loop at maximum throughput ($WORKERS workers), with the held-out
# test prompts as bodies. Prints each result and a summary table;
# JSON results land in $LOADTEST_DIR/results.
#
# The server and the load generator share the machine's cores (2 on the
# project machine): every figure is for both together, on loopback.
# GOMAXPROCS of each is SERVER_PROCS and LOADGEN_PROCS (default 1 and 1),
# and each is pinned to its own CPU (SERVER_CPUS, LOADGEN_CPUS).
#
# Right before each built-in-encoder router, scripts/loadfloor.c (built
# with cc when there is one) measures the machine's floor at the same rate
# and pinning: a C client and echo server on loopback that do nothing but
# WORK_US of busy work per request. Its p99 is what any server pays on
# this machine for the wake-ups, the TCP path and the host's scheduling;
# the summary prints it next to routekit's.
#
# Env: BIN (default bin/routekit), LOADTEST_DIR (default .cache/loadtest;
#      the world and artifacts are reused when present, delete it to
#      rebuild), RATE (2000), ONNX_RATE (500), DURATION (10s), WARMUP (2s),
#      WORKERS (16), SERVER_PROCS (1), LOADGEN_PROCS (1), SERVER_CPUS (0), LOADGEN_CPUS (1), ROUTERS (default
#      "mf irt mf-onnx irt-onnx"), ONNX_MODEL (models/encoder/testdata/tinybert),
#      ROUTEKIT_ORT_LIB (set by make; needed for the ONNX routers), WORK_US
#      (70, the floor's work per request; FLOOR=0 skips the floor).
set -euo pipefail

BIN=${BIN:-bin/routekit}
DIR=${LOADTEST_DIR:-.cache/loadtest}
RATE=${RATE:-2000}
ONNX_RATE=${ONNX_RATE:-500}
ONNX_SERVER_PROCS=${ONNX_SERVER_PROCS:-2}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
WORKERS=${WORKERS:-16}
WORK_US=${WORK_US:-70}
FLOOR=${FLOOR:-1}
SERVER_PROCS=${SERVER_PROCS:-1}
LOADGEN_PROCS=${LOADGEN_PROCS:-1}
# SERVER_CPUS / LOADGEN_CPUS pin each to CPUs with taskset; with two or more
# cores the default is the server on CPU 0 and the generator on CPU 1, which
# keeps them from preempting each other (set both empty to not pin).
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SERVER_CPUS=${SERVER_CPUS-0}
	LOADGEN_CPUS=${LOADGEN_CPUS-1}
fi
SERVER_PIN=${SERVER_CPUS:+taskset -c $SERVER_CPUS}
LOADGEN_PIN=${LOADGEN_CPUS:+taskset -c $LOADGEN_CPUS}
ROUTERS=${ROUTERS:-mf irt mf-onnx irt-onnx}
ONNX_MODEL=${ONNX_MODEL:-models/encoder/testdata/tinybert}
WORLD=$DIR/world
SPLIT=$DIR/split
RESULTS=$DIR/results

if [ ! -x "$BIN" ]; then
	echo "loadtest: $BIN not found; run make build (or make loadtest)" >&2
	exit 1
fi
mkdir -p "$DIR" "$RESULTS"

# step HEADER CMD...: print a header and the command, then run it.
step() {
	local header=$1
	shift
	printf '\n==> %s\n$ %s\n' "$header" "$*"
	"$@"
}

# --- data and artifacts (reused when present) ------------------------------------
if [ ! -s "$SPLIT/test.parquet" ]; then
	step "synthesising the demo world (20 models, 20k prompts)" \
		"$BIN" data synth --seed 1 --out-dir "$WORLD"
	step "splitting outcomes by prompt hash" \
		"$BIN" data split --in "$WORLD/outcomes.parquet" --out-dir "$SPLIT" --by hash --seed 1
fi
if [ ! -s "$DIR/embeddings.encoder" ]; then
	step "embedding the training prompts (built-in encoder, fitted here)" \
		"$BIN" embed --data "$SPLIT/train.parquet" --encoder builtin --out "$DIR/embeddings.parquet"
fi

# train NAME ROUTER ENCODER [CACHE]: train an artifact unless it exists.
train() {
	local name=$1 router=$2 enc=$3 cache=${4:-}
	[ -s "$DIR/$name/manifest.json" ] && return 0
	local data=(--data "$SPLIT/train.parquet")
	if [ "$router" = mf ]; then
		data=(--data "$WORLD/battles.parquet" --catalog "$WORLD/catalog.yaml")
	fi
	step "training $name" \
		"$BIN" train --router "$router" "${data[@]}" --encoder "$enc" ${cache:+--cache "$cache"} --out "$DIR/$name"
}

for name in $ROUTERS; do
	case $name in
	mf | irt) train "$name" "$name" "builtin:$DIR/embeddings.encoder" "$DIR/embeddings.parquet" ;;
	mf-onnx | irt-onnx)
		if [ -z "${ROUTEKIT_ORT_LIB:-}" ]; then
			echo "loadtest: $name needs ROUTEKIT_ORT_LIB (make setup; make loadtest sets it)" >&2
			exit 1
		fi
		train "$name" "${name%-onnx}" "onnx:$ONNX_MODEL" "$DIR/embeddings-onnx.parquet"
		;;
	*)
		echo "loadtest: unknown router $name in ROUTERS (want mf, irt, mf-onnx, irt-onnx)" >&2
		exit 1
		;;
	esac
done

# --- the machine's floor ----------------------------------------------------------
FLOORBIN=
if [ "$FLOOR" != 0 ] && command -v cc >/dev/null; then
	FLOORBIN=$DIR/loadfloor
	if [ ! -x "$FLOORBIN" ] || [ scripts/loadfloor.c -nt "$FLOORBIN" ]; then
		cc -O2 -o "$FLOORBIN" scripts/loadfloor.c
	fi
elif [ "$FLOOR" != 0 ]; then
	echo "loadtest: no cc: skipping the machine's floor (scripts/loadfloor.c)" >&2
fi

# floor NAME: measure the floor at $RATE for $DURATION (seconds) as $NAME's.
floor() {
	[ -n "$FLOORBIN" ] || return 0
	local secs=${DURATION%s}
	case $secs in *[!0-9.]* | "") secs=10 ;; esac
	step "$1: the machine's floor (C echo, ${WORK_US} us of work per request)" \
		"$FLOORBIN" "$RATE" "$secs" "$WORK_US" "${SERVER_CPUS:--1}" "${LOADGEN_CPUS:--1}" |
		tee "$RESULTS/$1-floor.txt"
}

# --- load ------------------------------------------------------------------------
SERVER=
cleanup() {
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# start NAME: serve artifact NAME on a free loopback port; sets URL.
start() {
	local name=$1 out=$DIR/serve-$1.out
	GOMAXPROCS=$SP $SPIN "$BIN" serve --artifact "$DIR/$name" --name "$name" --addr 127.0.0.1:0 \
		--log-level warn >"$out" 2>"$DIR/serve-$name.log" &
	SERVER=$!
	URL=
	for _ in $(seq 1 200); do
		URL=$(grep -o 'http://[0-9.:]*' "$out" || true)
		if [ -n "$URL" ] && curl -sf "$URL/readyz" >/dev/null; then
			return 0
		fi
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.1
	done
	echo "loadtest: the $name server did not become ready:" >&2
	cat "$DIR/serve-$name.log" >&2
	exit 1
}

stop() {
	kill -INT "$SERVER"
	wait "$SERVER" || true
	SERVER=
}

# loadgen NAME MODE ARGS...: run the load generator, print its table, keep its JSON.
loadgen() {
	local name=$1 mode=$2
	shift 2
	step "$name: $mode" env GOMAXPROCS="$LOADGEN_PROCS" $LPIN "$BIN" loadgen --log-level warn --url "$URL/v1/route" \
		--prompts "$SPLIT/test.parquet" --duration "$DURATION" --warmup "$WARMUP" --out "$RESULTS/$name-$mode.json" "$@"
}

printf '\n==> server GOMAXPROCS=%s (ONNX: %s), loadgen GOMAXPROCS=%s, on %s cores; pinned: server to CPU %s, loadgen to CPU %s (not for ONNX)\n' \
	"$SERVER_PROCS" "$ONNX_SERVER_PROCS" "$LOADGEN_PROCS" "$(nproc)" "${SERVER_CPUS:-none}" "${LOADGEN_CPUS:-none}"
for name in $ROUTERS; do
	rate=$RATE SP=$SERVER_PROCS SPIN=$SERVER_PIN LPIN=$LOADGEN_PIN
	# The ONNX encoder needs more CPU than one core: its server gets both
	# cores (ONNX_SERVER_PROCS) and neither process is pinned.
	case $name in
	*-onnx) rate=$ONNX_RATE SP=$ONNX_SERVER_PROCS SPIN= LPIN= ;;
	*) floor "$name" ;;
	esac
	start "$name"
	loadgen "$name" open --rate "$rate"
	loadgen "$name" max --max --workers "$WORKERS"
	stop
done

# --- summary -----------------------------------------------------------------------
# field FILE SECTION KEY: a number from a result's JSON (sections are
# "latency", "server" and "send_lag"; "" for top-level keys).
field() {
	awk -v sec="\"$2\":" -v key="\"$3\":" '
		sec == "\"\":" && $1 == key { gsub(/,/, "", $2); print $2; exit }
		$1 == sec { in_sec = 1; next }
		in_sec && $1 == key { gsub(/,/, "", $2); print $2; exit }
		in_sec && /}/ { in_sec = 0 }' "$1"
}

printf '\n==> summary (open loop at the rate shown; closed loop with %s workers; latencies in ms)\n' "$WORKERS"
printf '%-9s %6s %8s %8s %8s %10s %7s %9s %8s %7s %10s\n' router rate p50 p99 p99.9 "srv p99" errors "max rps" "max p99" errors "floor p99"
ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1000 }'; }
for name in $ROUTERS; do
	o=$RESULTS/$name-open.json m=$RESULTS/$name-max.json f=$RESULTS/$name-floor.txt
	fl=-
	if [ -n "$FLOORBIN" ] && [ -s "$f" ]; then
		fl=$(ms "$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' "$f")")
	fi
	printf '%-9s %6s %8s %8s %8s %10s %7s %9s %8s %7s %10s\n' "$name" "$(field "$o" "" rate)" \
		"$(ms "$(field "$o" latency p50_us)")" "$(ms "$(field "$o" latency p99_us)")" \
		"$(ms "$(field "$o" latency p999_us)")" "$(ms "$(field "$o" server p99_us)")" "$(field "$o" "" errors)" \
		"$(field "$m" "" rps)" "$(ms "$(field "$m" latency p99_us)")" "$(field "$m" "" errors)" "$fl"
done

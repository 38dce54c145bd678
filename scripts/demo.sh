#!/usr/bin/env bash
# demo.sh — the end-to-end routekit demo, run by `make demo`.
#
# Every step is one `step "header" command...` line; later stages (train,
# eval, serve) are appended at the end in the same way. Paths are relative to
# the module root, where make runs this script.
#
# Env: BIN (default bin/routekit), DEMO_DIR (default .cache/demo; wiped first),
#      ROUTEKIT_ORT_LIB (set by make; passed through to the binary).
set -euo pipefail

BIN=${BIN:-bin/routekit}
DEMO_DIR=${DEMO_DIR:-.cache/demo}
WORLD=$DEMO_DIR/world
SPLIT=$DEMO_DIR/split

if [ ! -x "$BIN" ]; then
	echo "demo: $BIN not found; run make build (or make demo)" >&2
	exit 1
fi

# step HEADER CMD...: print a header and the command, then run it.
step() {
	local header=$1
	shift
	printf '\n==> %s\n$ %s\n' "$header" "$*"
	"$@"
}

case "$DEMO_DIR" in
"" | / | . | ..)
	echo "demo: refusing to wipe DEMO_DIR=$DEMO_DIR" >&2
	exit 1
	;;
esac
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"

# --- data --------------------------------------------------------------------
step "synthesising a router world" \
	"$BIN" data synth --seed 1 --out-dir "$WORLD"
step "stats: outcomes" \
	"$BIN" data stats "$WORLD/outcomes.parquet"
step "stats: battles" \
	"$BIN" data stats "$WORLD/battles.parquet"
step "splitting outcomes by prompt hash" \
	"$BIN" data split --in "$WORLD/outcomes.parquet" --out-dir "$SPLIT" --by hash --seed 1
step "stats: test split" \
	"$BIN" data stats "$SPLIT/test.parquet"

step "embedding the training prompts (built-in encoder, fitted here)" \
	"$BIN" embed --data "$SPLIT/train.parquet" --encoder builtin --out "$DEMO_DIR/embeddings.parquet"
step "embedding train+test: the cache is reused, only new prompts are encoded" \
	"$BIN" embed --data "$SPLIT/train.parquet" --data "$SPLIT/test.parquet" \
	--encoder "builtin:$DEMO_DIR/embeddings.encoder" --out "$DEMO_DIR/embeddings.parquet"

# --- train and evaluate ---------------------------------------------------------
ENC="builtin:$DEMO_DIR/embeddings.encoder"
CACHE="$DEMO_DIR/embeddings.parquet"
step "training an IRT router on the training outcomes (embeddings from the cache)" \
	"$BIN" train --router irt --data "$SPLIT/train.parquet" --encoder "$ENC" --cache "$CACHE" --out "$DEMO_DIR/irt"
step "training the kNN baseline" \
	"$BIN" train --router knn --data "$SPLIT/train.parquet" --encoder "$ENC" --cache "$CACHE" --out "$DEMO_DIR/knn"
step "training a matrix-factorization router on Arena-style battles (prices from the catalog)" \
	"$BIN" train --router mf --data "$WORLD/battles.parquet" --catalog "$WORLD/catalog.yaml" --encoder "$ENC" --cache "$CACHE" --out "$DEMO_DIR/mf"
# bert trains in GoMLX on the pure-Go backend; a few epochs keep the demo short.
step "training a BERT-classifier router (MLP head on the embeddings, GoMLX; 4 epochs for the demo)" \
	"$BIN" train --router bert --epochs 4 --data "$SPLIT/train.parquet" --encoder "$ENC" --cache "$CACHE" --out "$DEMO_DIR/bert"
step "evaluating them on the held-out test prompts, with random routing and the oracle" \
	"$BIN" eval --data "$SPLIT/test.parquet" --artifact "$DEMO_DIR/irt" --artifact "$DEMO_DIR/knn" --artifact "$DEMO_DIR/mf" \
	--artifact "$DEMO_DIR/bert" \
	--router random --router oracle --report "$DEMO_DIR/eval.html"
step "routing a few prompts with the IRT router (lambda 20: a dollar is worth 20 score points)" \
	"$BIN" route --artifact "$DEMO_DIR/irt" --lambda 20 \
	"Hi! What is 12 plus 30?" \
	"Implement a trie in Python that supports deletion; optimise for O(n log n) and rigorously prove the complexity." \
	"Translate 'good morning' into French."

# --- serve ------------------------------------------------------------------------
# Background processes (the fake upstream, the server) are killed on any exit.
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

# wait_url FILE LOG: wait (up to 20 s) for a process to print its URL in
# FILE; print the URL, or show LOG and fail.
wait_url() {
	local url=
	for _ in $(seq 1 200); do
		url=$(grep -o 'http://[0-9.:]*[0-9a-z/]*' "$1" || true)
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { echo "demo: no URL in $1; log:" >&2; cat "$2" >&2; return 1; }
	echo "$url"
}

printf '\n==> starting a fake OpenAI-compatible upstream on loopback (it answers "[fake MODEL] you said: ...")\n'
"$BIN" dev fake-upstream --addr 127.0.0.1:0 >"$DEMO_DIR/upstream.out" 2>"$DEMO_DIR/upstream.log" &
PIDS+=($!)
UPSTREAM=$(wait_url "$DEMO_DIR/upstream.out" "$DEMO_DIR/upstream.log")
echo "fake upstream: $UPSTREAM"

# The proxy forwards each model's requests to the catalog entry's upstream:
# here every model of the synthetic catalog is served by the fake upstream.
sed "s|^- name: \(.*\)\$|- name: \1\n  upstream: {base_url: \"$UPSTREAM\"}|" "$WORLD/catalog.yaml" >"$DEMO_DIR/proxy-catalog.yaml"

printf '\n==> serving the IRT router on loopback: /v1/route, and the OpenAI-compatible proxy with a decision log\n'
printf '$ %s\n' "$BIN serve --artifact $DEMO_DIR/irt --name irt --addr 127.0.0.1:0 --catalog $DEMO_DIR/proxy-catalog.yaml --decision-log $DEMO_DIR/decisions.jsonl --log-prompts"
"$BIN" serve --artifact "$DEMO_DIR/irt" --name irt --addr 127.0.0.1:0 --catalog "$DEMO_DIR/proxy-catalog.yaml" \
	--decision-log "$DEMO_DIR/decisions.jsonl" --log-prompts >"$DEMO_DIR/serve.out" 2>"$DEMO_DIR/serve.log" &
SERVER=$!
PIDS+=("$SERVER")
URL=$(wait_url "$DEMO_DIR/serve.out" "$DEMO_DIR/serve.log")
for _ in $(seq 1 100); do
	curl -sf "$URL/readyz" >/dev/null && break
	sleep 0.1
done
curl -sf "$URL/readyz" >/dev/null || { echo "demo: the server is not ready:" >&2; cat "$DEMO_DIR/serve.log" >&2; exit 1; }

for prompt in "What is 7 times 8?" "Rigorously prove that the halting problem is undecidable, handling every edge case."; do
	printf '\n$ curl -s %s/v1/route -d {"prompt": "%s", "policy": {"lambda": 20}}\n' "$URL" "$prompt"
	curl -sf "$URL/v1/route" -H 'Content-Type: application/json' \
		-d "{\"prompt\": \"$prompt\", \"policy\": {\"lambda\": 20}}"
done

printf '\n$ curl -s %s/v1/models\n' "$URL"
curl -sf "$URL/v1/models"

# "model" names the route: router-irt-20 is the IRT router with lambda 20.
for prompt in "What is 7 times 8?" "Rigorously prove that the halting problem is undecidable, handling every edge case."; do
	printf '\n$ curl -s %s/v1/chat/completions -d {"model": "router-irt-20", "messages": [{"role": "user", "content": "%s"}]}\n' "$URL" "$prompt"
	curl -sf -D "$DEMO_DIR/headers.txt" "$URL/v1/chat/completions" -H 'Content-Type: application/json' \
		-d "{\"model\": \"router-irt-20\", \"messages\": [{\"role\": \"user\", \"content\": \"$prompt\"}]}"
	grep -i '^x-' "$DEMO_DIR/headers.txt" | tr -d '\r'
done

printf '\n$ curl -sN %s/v1/chat/completions -d {"model": "router-irt-20", "stream": true, ...}   (server-sent events, passed through as they arrive)\n' "$URL"
curl -sfN "$URL/v1/chat/completions" -H 'Content-Type: application/json' \
	-d '{"model": "router-irt-20", "stream": true, "messages": [{"role": "user", "content": "Translate good morning into French."}]}'

kill -INT "$SERVER"
wait "$SERVER"

printf '\n==> the decision log (%s lines; prompts logged because of --log-prompts), first line:\n' "$(wc -l <"$DEMO_DIR/decisions.jsonl")"
head -n 1 "$DEMO_DIR/decisions.jsonl"

# --- registry and hot reload --------------------------------------------------------
REG=$DEMO_DIR/registry
step "a registry: the IRT router becomes v1 of \"demo\" (the first version is CURRENT)" \
	"$BIN" registry add --registry "$REG" --name demo --artifact "$DEMO_DIR/irt"
step "the kNN router becomes v2 (not promoted yet)" \
	"$BIN" registry add --registry "$REG" --name demo --artifact "$DEMO_DIR/knn"
step "listing the registry" \
	"$BIN" registry list --registry "$REG"

printf '\n==> serving the registry (CURRENT polled every 500ms; admin token from ROUTEKIT_ADMIN_TOKEN)\n'
ROUTEKIT_ADMIN_TOKEN=demo-token "$BIN" serve --registry "$REG" --addr 127.0.0.1:0 --watch-interval 500ms \
	>"$DEMO_DIR/serve-reg.out" 2>"$DEMO_DIR/serve-reg.log" &
SERVER=$!
PIDS+=("$SERVER")
URL=$(wait_url "$DEMO_DIR/serve-reg.out" "$DEMO_DIR/serve-reg.log")
for _ in $(seq 1 100); do
	curl -sf "$URL/readyz" >/dev/null && break
	sleep 0.1
done

# served PROMPT: print the router kind and version that answered.
served() {
	curl -sf "$URL/v1/route" -d "{\"prompt\": \"$1\"}" | grep -o '"router":"[^"]*","version":"[^"]*"'
}
printf '\n$ curl -s %s/v1/route -d {"prompt": "What is 7 times 8?"}   -> ' "$URL"
served "What is 7 times 8?"
step "promoting v2" "$BIN" registry promote --registry "$REG" --name demo --version v2
printf '\n$ curl -s -X POST -H "Authorization: Bearer demo-token" %s/admin/reload\n' "$URL"
curl -sf -X POST -H "Authorization: Bearer demo-token" "$URL/admin/reload"
printf '\n$ curl -s %s/v1/route ...   -> ' "$URL"
served "What is 7 times 8?"
printf '\n$ curl -s -X POST %s/admin/reload   (no token: refused)\n' "$URL"
curl -s -X POST "$URL/admin/reload" || true
step "rolling back to v1 (the server's watcher picks it up)" "$BIN" registry rollback --registry "$REG" --name demo
for _ in $(seq 1 100); do
	curl -sf "$URL/v1/routers" | grep -q '"version":"v1"' && break
	sleep 0.1
done
printf '\n$ curl -s %s/v1/route ...   -> ' "$URL"
served "What is 7 times 8?"
printf '\n$ curl -s %s/metrics | grep -E routekit_(reloads_total|router_info|decisions_total)\n' "$URL"
curl -sf "$URL/metrics" | grep -E '^routekit_(reloads_total|router_info|decisions_total)' | grep -v ' 0$' || true
kill -INT "$SERVER"
wait "$SERVER"

cleanup
trap - EXIT

printf '\n==> demo finished; outputs in %s (open %s/eval.html for the cost-quality plot)\n' "$DEMO_DIR" "$DEMO_DIR"

#!/usr/bin/env bash
# bench-routers.sh — train knn, irt, mf and bert on the public router data in
# ../shared/data and evaluate them on held-out prompts (the figures in
# BENCHMARKS.md). Usage: scripts/bench-routers.sh [OUT_DIR [EVAL_FLAG...]]
set -euo pipefail
BIN=${BIN:-bin/routekit}
SHARED=${ROUTEKIT_SHARED_DATA:-../shared/data}
OUT=${1:-.cache/bench-routers}
[ $# -gt 0 ] && shift # the rest goes to the LLMRouter eval
[ -x "$BIN" ] || { echo "bench-routers: build first (make build)" >&2; exit 1; }
[ -d "$SHARED" ] || { echo "bench-routers: no public data at $SHARED" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

train_all() { # NAME TRAIN_FILE CATALOG
	for r in knn irt mf bert; do
		"$BIN" train --router "$r" --data "$2" --catalog "$3" --out "$OUT/$1/$r" >/dev/null
	done
}

echo "==> LLMRouter (9 models; train on dcrouter_train, test on dcrouter_test)"
L=$SHARED/llmrouter
train_all llmrouter "$L/dcrouter_train.json" "$L/llm_candidates.json"
"$BIN" eval --data "$L/dcrouter_test.json" --catalog "$L/llm_candidates.json" \
	--artifact "$OUT/llmrouter/knn" --artifact "$OUT/llmrouter/irt" --artifact "$OUT/llmrouter/mf" \
	--artifact "$OUT/llmrouter/bert" --router random --router oracle "$@"

for b in mmlu gsm8k; do
	echo "==> RouteLLM $b (contaminated prompts dropped, as RouteLLM does; split by prompt hash 70/30, seed 1)"
	files=("$SHARED/routellm/$b"/*.csv)
	"$BIN" data import --in "${files[@]}" --dedup=false --exclude "$SHARED/routellm/$b/contaminated_prompts.jsonl" \
		--out "$OUT/$b/all.parquet" >/dev/null
	"$BIN" data split --in "$OUT/$b/all.parquet" --out-dir "$OUT/$b" --fractions 0.7,0,0.3 --seed 1 >/dev/null
	train_all "$b" "$OUT/$b/train.parquet" scripts/catalogs/routellm.yaml
	"$BIN" train --router bert --bert-head 3way --data "$OUT/$b/train.parquet" --catalog scripts/catalogs/routellm.yaml \
		--out "$OUT/$b/bert3way" >/dev/null
	"$BIN" eval --data "$OUT/$b/test.parquet" --catalog scripts/catalogs/routellm.yaml \
		--artifact "$OUT/$b/knn" --artifact "$OUT/$b/irt" --artifact "$OUT/$b/mf" --artifact "$OUT/$b/bert" \
		--artifact "$OUT/$b/bert3way" --router random --router oracle
done

echo "==> RouteLLM MT-Bench (turn 1 prompts, contaminated dropped), routers trained on MMLU and GSM8K"
M=$SHARED/routellm/mt_bench
"$BIN" data mtbench --dir "$M" --exclude "$M/contaminated_prompts.jsonl" --out "$OUT/mtbench.parquet" >/dev/null
"$BIN" eval --data "$OUT/mtbench.parquet" --catalog scripts/catalogs/routellm.yaml \
	--artifact "$OUT/mmlu/knn" --artifact "$OUT/mmlu/mf" --artifact "$OUT/gsm8k/mf" --router random --router oracle

echo "==> RouteProfile (8 models): train on the 4,200 battles, test on the 600 x 8 outcomes"
R=$SHARED/routeprofile
C=scripts/catalogs/routeprofile.yaml
"$BIN" data import --in "$R/routing_test_data.json" --catalog "$C" --out "$OUT/routeprofile/test.parquet" >/dev/null
for r in knn irt mf bert; do
	"$BIN" train --router "$r" --data "$R/pairwise_arena.jsonl" --catalog "$C" --out "$OUT/routeprofile/$r" >/dev/null
done
"$BIN" eval --data "$OUT/routeprofile/test.parquet" --artifact "$OUT/routeprofile/knn" --artifact "$OUT/routeprofile/irt" \
	--artifact "$OUT/routeprofile/mf" --artifact "$OUT/routeprofile/bert" --router random --router oracle

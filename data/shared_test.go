package data

import (
	"context"
	"github.com/routekit/routekit/internal/sharedtest"
	"math"
	"path/filepath"
	"testing"
)

// sharedData returns the folder of the public router data, or skips.
func sharedData(t testing.TB) string { return sharedtest.Dir(t) }

func readShared(t *testing.T, opt Options, paths ...string) (*Dataset, *Report) {
	t.Helper()
	ds, rep, err := ReadFiles(context.Background(), paths, opt)
	if err != nil {
		t.Fatal(err)
	}
	return ds, rep
}

func TestSharedRouteLLM(t *testing.T) {
	dir := sharedData(t)
	mmlu, err := filepath.Glob(filepath.Join(dir, "routellm/mmlu/mmlu_*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mmlu) != 57 {
		t.Fatalf("found %d MMLU files, want 57", len(mmlu))
	}
	ds, rep := readShared(t, Options{}, mmlu...)
	if rep.Rows != 14042 {
		t.Errorf("MMLU rows = %d, want 14042", rep.Rows)
	}
	if got := rep.Models(); len(got) != 2 || got[0] != "gpt-4-1106-preview" || got[1] != "mistralai/Mixtral-8x7B-Instruct-v0.1" {
		t.Errorf("MMLU models = %v", got)
	}
	if len(ds.Outcomes) != 2*14042 {
		t.Errorf("MMLU outcomes = %d, want %d", len(ds.Outcomes), 2*14042)
	}
	tasks := map[string]bool{}
	for _, o := range ds.Outcomes {
		tasks[o.Task] = true
	}
	if len(tasks) != 57 {
		t.Errorf("MMLU tasks = %d, want 57 (one per file)", len(tasks))
	}

	_, rep = readShared(t, Options{}, filepath.Join(dir, "routellm/gsm8k/gsm8k_responses.csv"))
	if rep.Rows != 1319 || rep.Outcomes != 2*1319 {
		t.Errorf("GSM8K rows, outcomes = %d, %d; want 1319, 2638", rep.Rows, rep.Outcomes)
	}
	if got := rep.Files[0].Models; len(got) != 2 {
		t.Errorf("GSM8K model columns = %v, want the two models (responses are metadata)", got)
	}
}

func TestSharedLLMRouter(t *testing.T) {
	dir := sharedData(t)
	for _, c := range []struct {
		file    string
		prompts int
	}{{"dcrouter_train.json", 5608}, {"dcrouter_test.json", 500}} {
		ds, rep := readShared(t, Options{}, filepath.Join(dir, "llmrouter", c.file))
		if rep.Rows != c.prompts {
			t.Errorf("%s: rows = %d, want %d", c.file, rep.Rows, c.prompts)
		}
		if got := len(rep.Models()); got != 9 {
			t.Errorf("%s: models = %d, want 9", c.file, got)
		}
		if len(ds.Outcomes) != 9*c.prompts {
			t.Errorf("%s: outcomes = %d, want %d", c.file, len(ds.Outcomes), 9*c.prompts)
		}
	}
	cat, err := LoadCatalog(filepath.Join(dir, "llmrouter/llm_candidates.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := cat.Lookup("qwen2.5-7b-instruct")
	if !ok || m.InputPrice == nil || *m.InputPrice != 0.2 || m.Extra["size"] != "7B" {
		t.Errorf("catalog entry qwen2.5-7b-instruct = %+v", m)
	}
}

func TestSharedRouteProfile(t *testing.T) {
	dir := sharedData(t)
	ds, rep := readShared(t, Options{}, filepath.Join(dir, "routeprofile/pairwise_arena.jsonl"))
	if len(ds.Battles) != 4200 {
		t.Errorf("battles = %d, want 4200", len(ds.Battles))
	}
	if got := len(rep.Models()); got != 8 {
		t.Errorf("battle models = %d, want 8", got)
	}
	ds, rep = readShared(t, Options{}, filepath.Join(dir, "routeprofile/routing_test_data.json"))
	if rep.Rows != 600 || len(ds.Outcomes) != 600*8 || len(rep.Models()) != 8 {
		t.Errorf("test outcomes: rows %d, outcomes %d, models %d; want 600, 4800, 8", rep.Rows, len(ds.Outcomes), len(rep.Models()))
	}
}

func TestSharedLLMRouterTasks(t *testing.T) {
	dir := sharedData(t)
	tm, err := LoadTaskMap(context.Background(), filepath.Join(dir, "llmrouter/query_train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := readShared(t, Options{Tasks: tm}, filepath.Join(dir, "llmrouter/dcrouter_train.json"))
	tasks := map[string]int{}
	for _, o := range ds.Outcomes {
		tasks[o.Task]++
	}
	if tasks[""] != 0 {
		t.Errorf("%d outcomes have no task after the join", tasks[""])
	}
	if len(tasks) != 14 {
		t.Errorf("tasks = %d, want 14", len(tasks))
	}
}

func TestSharedMTBench(t *testing.T) {
	dir := filepath.Join(sharedData(t), "routellm/mt_bench")
	ctx := context.Background()
	all, excluded, err := ReadMTBench(ctx, filepath.Join(dir, "question.jsonl"), filepath.Join(dir, "judgements.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 160 || excluded != 0 {
		t.Fatalf("%d outcomes (%d excluded), want 80 questions x 2 models", len(all), excluded)
	}
	for _, o := range all {
		if o.Meta["turns_judged"] != "2" || o.Score < 0 || o.Score > 1 {
			t.Fatalf("outcome %+v: want both turns judged and a score in [0, 1]", o)
		}
	}
	set, err := LoadPromptSet(filepath.Join(dir, "contaminated_prompts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	clean, excluded, err := ReadMTBench(ctx, filepath.Join(dir, "question.jsonl"), filepath.Join(dir, "judgements.jsonl"), set)
	if err != nil {
		t.Fatal(err)
	}
	if excluded == 0 || len(clean) != 2*(80-excluded) {
		t.Errorf("contaminated filter: %d excluded, %d outcomes", excluded, len(clean))
	}
	t.Logf("MT-Bench: %d questions, %d contaminated dropped", 80, excluded)
}

func TestMTBenchScore(t *testing.T) {
	for grade, want := range map[float64]float64{1: 0, 10: 1, 5.5: 0.5} {
		if got := MTBenchScore(grade); math.Abs(got-want) > 1e-15 {
			t.Errorf("MTBenchScore(%v) = %v, want %v", grade, got, want)
		}
	}
}

package data_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/routekit/routekit/data"
)

// A RouteLLM-style wide table becomes one outcome per (prompt, model).
func ExampleReadFiles() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mmlu_astronomy.csv")
	os.WriteFile(path, []byte("prompt,weak-model,strong-model\n"+
		"\"What is the closest star to Earth?\nAnswer:\",False,True\n"+
		"How many planets orbit the Sun?,True,True\n"), 0o644)

	ds, rep, err := data.ReadFiles(context.Background(), []string{path}, data.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d rows, %d prompts, models %v\n", rep.Rows, rep.Prompts(), rep.Models())
	for _, o := range ds.Outcomes {
		fmt.Printf("%s %-12s %.0f %s\n", o.PromptID[:6], o.Model, o.Score, o.Task)
	}
	// Output:
	// 2 rows, 2 prompts, models [strong-model weak-model]
	// 46e866 weak-model   0 mmlu_astronomy
	// 46e866 strong-model 1 mmlu_astronomy
	// ff14fe weak-model   1 mmlu_astronomy
	// ff14fe strong-model 1 mmlu_astronomy
}

// Bad input names the file, the line and the field.
func ExampleParseError() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "outcomes.jsonl")
	os.WriteFile(path, []byte(`{"prompt":"hi","model":"m1","score":1}
{"prompt":"hi","model":"m2","score":7}
`), 0o644)

	_, _, err := data.ReadFiles(context.Background(), []string{path}, data.Options{})
	fmt.Println(strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)))
	_, rep, _ := data.ReadFiles(context.Background(), []string{path}, data.Options{SkipInvalid: true})
	fmt.Println(rep.Outcomes, rep.Skipped)
	// Output:
	// outcomes.jsonl:2: score: 7 is outside [0, 1]
	// 1 map[invalid score:1]
}

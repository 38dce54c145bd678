package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
)

// MT-Bench grades answers 1 to 10; MTBenchScore maps a grade to [0, 1].
const (
	mtbenchMinGrade = 1
	mtbenchMaxGrade = 10
)

// MTBenchScore rescales a judge's 1-10 grade to [0, 1]: (grade-1)/9.
func MTBenchScore(grade float64) float64 {
	return (grade - mtbenchMinGrade) / (mtbenchMaxGrade - mtbenchMinGrade)
}

// ReadMTBench reads RouteLLM's MT-Bench files (question.jsonl with
// question_id and turns, judgements.jsonl with question_id, model, turn
// and score) into outcomes as RouteLLM evaluates them: the prompt is the
// first turn, and a model's score is the mean of its rescaled grades over
// the turns judged. Prompts in exclude (contaminated prompts) are left
// out and counted. Outcomes come in question order, models sorted.
func ReadMTBench(ctx context.Context, questions, judgements string, exclude *PromptSet) ([]Outcome, int, error) {
	type question struct {
		id     string
		prompt string
		task   string
	}
	var qs []question
	byID := map[string]int{}
	if err := eachRow(ctx, questions, func(r row, line int) error {
		f := fields{r: r}
		id := f.str("question_id")
		task := f.optStr("category")
		if f.err != nil {
			return f.err
		}
		tv, err := r.structured("turns")
		if err != nil {
			return err
		}
		prompt, _, err := userTurn(tv, "turns", false)
		if err != nil {
			return err
		}
		if _, dup := byID[id]; dup {
			return ferr("question_id", "%s repeats an earlier question", id)
		}
		byID[id] = len(qs)
		qs = append(qs, question{id, prompt, task})
		return nil
	}); err != nil {
		return nil, 0, err
	}
	type acc struct{ sum, n float64 }
	grades := map[string]map[string]*acc{} // question id -> model -> grades
	if err := eachRow(ctx, judgements, func(r row, line int) error {
		f := fields{r: r}
		id, model, grade := f.str("question_id"), f.str("model"), f.num("score")
		if f.err != nil {
			return f.err
		}
		if grade < mtbenchMinGrade || grade > mtbenchMaxGrade {
			return ferr("score", "%v is not a grade from %d to %d", grade, mtbenchMinGrade, mtbenchMaxGrade)
		}
		if _, ok := byID[id]; !ok {
			return ferr("question_id", "%s is not in %s", id, filepath.Base(questions))
		}
		if grades[id] == nil {
			grades[id] = map[string]*acc{}
		}
		a := grades[id][model]
		if a == nil {
			a = &acc{}
			grades[id][model] = a
		}
		a.sum += grade
		a.n++
		return nil
	}); err != nil {
		return nil, 0, err
	}
	var out []Outcome
	excluded := 0
	for _, q := range qs {
		if exclude != nil && exclude.Contains(q.prompt) {
			excluded++
			continue
		}
		models := sortedKeys(grades[q.id])
		for _, m := range models {
			a := grades[q.id][m]
			s := MTBenchScore(a.sum / a.n)
			out = append(out, Outcome{PromptID: PromptIDOf(q.prompt), Prompt: q.prompt, Model: m,
				Score: math.Round(s*1e12) / 1e12, Task: q.task, Meta: map[string]string{"question_id": q.id, "turns_judged": strconv.Itoa(int(a.n))}})
		}
	}
	return out, excluded, nil
}

// eachRow streams the records of a JSON or JSONL file, naming bad rows
// by file, line and field.
func eachRow(ctx context.Context, path string, fn func(r row, line int) error) error {
	c, err := ContainerOf(path)
	if err != nil {
		return err
	}
	src, err := (&Reader{}).open(ctx, path, c)
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		g, line, err := src.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(row{g}, line); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return &ParseError{File: path, Line: line, Field: fe.field, Err: fe.err}
			}
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

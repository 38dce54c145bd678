package data

import (
	"context"
	"errors"
	"io"
)

// TaskMap labels prompts with tasks by normalised text, for sources that
// carry no task (LLMRouter's score maps, whose tasks are in its
// query_data files). It is safe for concurrent reads.
type TaskMap struct {
	tasks map[string]string
}

// Task returns the task of a prompt.
func (m *TaskMap) Task(prompt string) (string, bool) {
	if m == nil {
		return "", false
	}
	t, ok := m.tasks[NormalizePrompt(prompt)]
	return t, ok
}

// Len is the number of prompts labelled.
func (m *TaskMap) Len() int { return len(m.tasks) }

// taskPromptFields and taskFields name a task file's prompt and task.
var (
	taskPromptFields = []string{"query", "prompt", "question"}
	taskFields       = []string{"task_name", "task"}
)

// LoadTaskMap reads a file (any container) whose records hold a prompt
// (query, prompt or question) and a task (task_name or task). A prompt
// labelled with two different tasks keeps the first.
func LoadTaskMap(ctx context.Context, path string) (*TaskMap, error) {
	c, err := ContainerOf(path)
	if err != nil {
		return nil, err
	}
	src, err := (&Reader{}).open(ctx, path, c)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m := &TaskMap{tasks: map[string]string{}}
	pick := func(fields []string) string {
		for _, k := range src.keys() {
			for _, f := range fields {
				if k == f {
					return f
				}
			}
		}
		return ""
	}
	pf, tf := pick(taskPromptFields), pick(taskFields)
	if len(src.keys()) == 0 {
		return m, nil
	}
	if pf == "" || tf == "" {
		return nil, &ParseError{File: path, Line: 1, Err: errors.New("want a prompt field (query, prompt or question) and a task field (task_name or task)")}
	}
	for {
		g, line, err := src.next()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		r := row{g}
		p, err := r.str(pf)
		if err == nil {
			var t string
			if t, err = r.str(tf); err == nil {
				norm := NormalizePrompt(p)
				if _, seen := m.tasks[norm]; !seen {
					m.tasks[norm] = t
				}
				continue
			}
		}
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, &ParseError{File: path, Line: line, Field: fe.field, Err: fe.err}
		}
		return nil, err
	}
}

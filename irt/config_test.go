package irt

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
)

func TestConfigEffective(t *testing.T) {
	if got := (Config{}).Effective(); got != DefaultConfig() {
		t.Errorf("Config{}.Effective() = %+v, want the defaults %+v", got, DefaultConfig())
	}
	want := DefaultConfig()
	want.Dims, want.Optimizer, want.NoValidation, want.Workers = 3, Adam, true, 1
	if got := (Config{Dims: 3, Optimizer: Adam, NoValidation: true, Workers: 1}).Effective(); got != want {
		t.Errorf("Config.Effective() = %+v, want %+v", got, want)
	}
}

// TestConfigJSON checks the snake_case keys of Config and that Workers,
// which does not change results, stays out of the JSON form.
func TestConfigJSON(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if tag := f.Tag.Get("json"); tag != "-" && !snake.MatchString(tag) {
			t.Errorf("Config.%s: json tag %q, want snake_case", f.Name, tag)
		}
	}
	c := Config{Dims: 2, L2: 0.5, L2Theta: 0.25, Optimizer: Adam, Workers: 7}.Effective()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["workers"]; ok || m["dims"] != 2.0 || m["l2_theta"] != 0.25 || m["optimizer"] != "adam" || m["max_iter"] != float64(DefaultMaxIter) {
		t.Errorf("Config JSON %s", b)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	c.Workers = 0
	if back != c {
		t.Errorf("JSON round trip gives %+v, want %+v", back, c)
	}
}

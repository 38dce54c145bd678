package train

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
)

// checkJSONTags fails unless every field of the struct type of v has a
// snake_case json tag (or "-"), and v survives a JSON round trip.
func checkJSONTags[T any](t *testing.T, v T) {
	t.Helper()
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*(,omitempty)?$`)
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if tag := f.Tag.Get("json"); tag != "-" && !snake.MatchString(tag) {
			t.Errorf("%s.%s: json tag %q, want snake_case", typ.Name(), f.Name, tag)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Errorf("%s: JSON round trip %s gives %+v, want %+v", typ.Name(), b, back, v)
	}
}

func TestConfigEffective(t *testing.T) {
	if got := (MFConfig{}).Effective(); got != DefaultMFConfig() {
		t.Errorf("MFConfig{}.Effective() = %+v, want the defaults", got)
	}
	// Given values, including the negative "off" values, are kept.
	want := DefaultMFConfig()
	want.Dim, want.Alpha, want.Patience, want.ValFraction, want.Seed = 16, -1, -1, -1, 9
	if got := (MFConfig{Dim: 16, Alpha: -1, Patience: -1, ValFraction: -1, Seed: 9}).Effective(); got != want {
		t.Errorf("MFConfig.Effective() = %+v, want %+v", got, want)
	}
	if got := (BERTConfig{}).Effective(); got != DefaultBERTConfig() {
		t.Errorf("BERTConfig{}.Effective() = %+v, want the defaults", got)
	}
	wantB := DefaultBERTConfig()
	wantB.Head, wantB.Strong, wantB.Layers, wantB.Dropout = Head3Way, "big", -1, 0.2
	if got := (BERTConfig{Head: Head3Way, Strong: "big", Layers: -1, Dropout: 0.2}).Effective(); got != wantB {
		t.Errorf("BERTConfig.Effective() = %+v, want %+v", got, wantB)
	}
	wantF := DefaultFinetuneConfig()
	wantF.Head.Hidden, wantF.LearningRate = 8, 3e-5
	if got := (FinetuneConfig{Head: BERTConfig{Hidden: 8}, LearningRate: 3e-5}).Effective(); got != wantF {
		t.Errorf("FinetuneConfig.Effective() = %+v, want %+v", got, wantF)
	}
}

func TestConfigJSON(t *testing.T) {
	checkJSONTags(t, DefaultMFConfig())
	checkJSONTags(t, DefaultBERTConfig())
	checkJSONTags(t, DefaultFinetuneConfig())
	b, err := json.Marshal(DefaultMFConfig())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"dim":128,"alpha":0.1,"learning_rate":0.001,"epochs":100,"batch_size":256,"weight_decay":0.0001,` +
		`"patience":5,"val_fraction":0.1,"ties":"drop","seed":1}`
	if string(b) != want {
		t.Errorf("DefaultMFConfig JSON\n got %s\nwant %s", b, want)
	}
}

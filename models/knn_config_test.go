package models

import (
	"encoding/json"
	"testing"
)

func TestKNNConfigEffective(t *testing.T) {
	if got := (KNNConfig{}).Effective(); got != DefaultKNNConfig() {
		t.Errorf("KNNConfig{}.Effective() = %+v, want the defaults", got)
	}
	c := KNNConfig{K: 7}.Effective()
	if c != (KNNConfig{K: 7, PriorWeight: 1}) {
		t.Errorf("KNNConfig{K: 7}.Effective() = %+v", c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"k":7,"prior_weight":1}` {
		t.Errorf("KNNConfig JSON %s", b)
	}
}

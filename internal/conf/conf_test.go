package conf

import "testing"

func TestDefault(t *testing.T) {
	n, s, f := 0, "", 0.0
	Default(&n, 3)
	Default(&s, "x")
	Default(&f, 0.5)
	if n != 3 || s != "x" || f != 0.5 {
		t.Errorf("zero values: got %d %q %v", n, s, f)
	}
	n, s, f = -1, "y", 2
	Default(&n, 3)
	Default(&s, "x")
	Default(&f, 0.5)
	if n != -1 || s != "y" || f != 2 {
		t.Errorf("set values changed: got %d %q %v", n, s, f)
	}
}

// Package conf holds small helpers for configuration structs whose zero
// fields mean "the default".
package conf

// Default sets *v to def when *v is its type's zero value.
func Default[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

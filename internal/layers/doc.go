// Package layers holds no code: its test enforces the module's one-way
// import rules (data → irt → models → eval → train → serve → cmd), so that a
// change that breaks the layering fails go test ./....
package layers

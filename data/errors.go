package data

import (
	"errors"
	"fmt"
)

// ParseError is bad input at a position of a file. Line is the 1-based
// line of a text file (of the record's first line, for records that span
// lines) or the 1-based row of a Parquet file.
type ParseError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Field != "":
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.Field != "":
		return fmt.Sprintf("%s: %s: %v", e.File, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Errors that callers branch on.
var (
	// ErrUnknownLayout means the layout of a file could not be recognised
	// from its fields; name it with Options.Layout.
	ErrUnknownLayout = errors.New("unknown layout")
	// ErrUnexpectedKind means a file holds records of a kind the caller
	// did not ask for (battles where outcomes were expected, say).
	ErrUnexpectedKind = errors.New("unexpected record kind")
	// ErrUnknownModel means a model has no catalog entry.
	ErrUnknownModel = errors.New("model not in catalog")
)

package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A getter gives the fields of one source record as generic values:
// string, float64, int64, json.Number, bool, time.Time, nil, []any or
// map[string]any, whatever the container.
type getter interface {
	get(field string) (any, bool)
}

// mapRow is a record decoded from JSON or built from a CSV line.
type mapRow map[string]any

func (m mapRow) get(field string) (any, bool) {
	v, ok := m[field]
	return v, ok
}

// row adds typed accessors that return field errors.
type row struct{ getter }

// toFloat converts a generic value to a float: numbers, numeric strings,
// booleans and the strings True/False (as pandas writes them).
func toFloat(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		g, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", string(x))
		}
		f = g
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		case "":
			return 0, errors.New("empty, want a number")
		}
		g, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", truncate(s, 40))
		}
		f = g
	case nil:
		return 0, errors.New("null, want a number")
	default:
		return 0, fmt.Errorf("%s, want a number", kindOf(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not finite", f)
	}
	return f, nil
}

// toString converts a generic scalar to a string; numbers are formatted
// as they were written when possible.
func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("%s, want a string", kindOf(v))
}

// toTime converts an RFC 3339 string, a Unix time in seconds (number or
// numeric string, as Chatbot Arena's tstamp) or a time.Time.
func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Round(time.Microsecond), nil
	case nil:
		return time.Time{}, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				// Microseconds: the precision of the canonical Parquet.
				return t.UTC().Round(time.Microsecond), nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixSeconds(f)
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or Unix seconds", truncate(s, 40))
	}
	f, err := toFloat(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time or Unix seconds: %w", err)
	}
	return unixSeconds(f)
}

func unixSeconds(f float64) (time.Time, error) {
	if f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%v is out of range for Unix seconds", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, uint64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// fieldError is an error about one field of the current row; the reader
// adds the file and line.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func ferr(field string, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// str returns a required non-empty string field.
func (r row) str(field string) (string, error) {
	v, ok := r.get(field)
	if !ok || v == nil {
		return "", ferr(field, "missing")
	}
	s, err := toString(v)
	if err != nil {
		return "", &fieldError{field, err}
	}
	if strings.TrimSpace(s) == "" {
		return "", ferr(field, "empty")
	}
	return s, nil
}

// optStr returns an optional string field ("" when absent or null).
func (r row) optStr(field string) (string, error) {
	v, ok := r.get(field)
	if !ok || v == nil {
		return "", nil
	}
	s, err := toString(v)
	if err != nil {
		return "", &fieldError{field, err}
	}
	return s, nil
}

// num returns a required number field.
func (r row) num(field string) (float64, error) {
	v, ok := r.get(field)
	if !ok {
		return 0, ferr(field, "missing")
	}
	f, err := toFloat(v)
	if err != nil {
		return 0, &fieldError{field, err}
	}
	return f, nil
}

// optNum returns an optional number field; ok is false when absent, null
// or an empty string.
func (r row) optNum(field string) (f float64, ok bool, err error) {
	v, present := r.get(field)
	if !present || v == nil {
		return 0, false, nil
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return 0, false, nil
	}
	f, err = toFloat(v)
	if err != nil {
		return 0, false, &fieldError{field, err}
	}
	return f, true, nil
}

func (r row) optTime(field string) (time.Time, error) {
	v, ok := r.get(field)
	if !ok {
		return time.Time{}, nil
	}
	t, err := toTime(v)
	if err != nil {
		return time.Time{}, &fieldError{field, err}
	}
	return t, nil
}

// structured returns a field that holds a list or an object, decoding it
// when a text container stored it as JSON or as a Python literal.
func (r row) structured(field string) (any, error) {
	v, ok := r.get(field)
	if !ok || v == nil {
		return nil, ferr(field, "missing")
	}
	s, isStr := v.(string)
	if !isStr {
		return v, nil
	}
	out, err := decodeLiteral(s)
	if err != nil {
		return nil, &fieldError{field, err}
	}
	return out, nil
}

// decodeLiteral decodes a JSON value, or else a Python literal (the repr
// of a dict or list, as some public files hold).
func decodeLiteral(s string) (any, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, errors.New("empty, want a JSON or Python literal")
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		return v, nil
	}
	v, err := parsePython(t)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor a Python literal: %w", err)
	}
	return v, nil
}

// fields reads the fields of a row keeping the first error, as
// bufio.Scanner does, so a decoder reads every field and checks once.
// After an error every read returns the zero value.
type fields struct {
	r   row
	err error
}

// check keeps err when it is the first error.
func (f *fields) check(err error) {
	if f.err == nil {
		f.err = err
	}
}

func (f *fields) str(name string) string {
	if f.err != nil {
		return ""
	}
	s, err := f.r.str(name)
	f.check(err)
	return s
}

func (f *fields) optStr(name string) string {
	if f.err != nil {
		return ""
	}
	s, err := f.r.optStr(name)
	f.check(err)
	return s
}

func (f *fields) num(name string) float64 {
	if f.err != nil {
		return 0
	}
	x, err := f.r.num(name)
	f.check(err)
	return x
}

func (f *fields) optNum(name string) (float64, bool) {
	if f.err != nil {
		return 0, false
	}
	x, ok, err := f.r.optNum(name)
	f.check(err)
	return x, ok
}

func (f *fields) optTime(name string) time.Time {
	if f.err != nil {
		return time.Time{}
	}
	t, err := f.r.optTime(name)
	f.check(err)
	return t
}

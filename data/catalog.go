package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DefaultOutputTokens is the expected number of output tokens of an answer
// when a catalog entry prices by token and does not say.
const DefaultOutputTokens = 256

// CharsPerToken is the estimate of prompt characters per input token when
// the data gives no token count.
const CharsPerToken = 4

// Upstream is where the serving proxy sends a model's requests.
type Upstream struct {
	// BaseURL is an OpenAI-compatible base URL, such as https://api.example.com/v1.
	BaseURL string `json:"base_url" yaml:"base_url"`
	// Model is the model name to send upstream; empty means the catalog name.
	Model string `json:"model,omitempty" yaml:"model,omitempty"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `json:"api_key_env,omitempty" yaml:"api_key_env,omitempty"`
}

// ModelInfo is one catalog entry (formats.md §5).
type ModelInfo struct {
	Name string `json:"name" yaml:"name"`
	// CostPerQuery is a flat USD price per answer; it wins over token prices.
	CostPerQuery *float64 `json:"cost_per_query,omitempty" yaml:"cost_per_query,omitempty"`
	// InputPrice and OutputPrice are USD per 1M tokens.
	InputPrice  *float64 `json:"input_price,omitempty" yaml:"input_price,omitempty"`
	OutputPrice *float64 `json:"output_price,omitempty" yaml:"output_price,omitempty"`
	// OutputTokens is the expected output length; 0 means DefaultOutputTokens.
	OutputTokens int       `json:"output_tokens,omitempty" yaml:"output_tokens,omitempty"`
	Upstream     *Upstream `json:"upstream,omitempty" yaml:"upstream,omitempty"`
	// Extra keeps unknown fields (descriptions, sizes) as decoded.
	Extra map[string]any `json:"extra,omitempty" yaml:"extra,omitempty"`
}

// Priced reports whether the entry has a price.
func (m *ModelInfo) Priced() bool {
	return m.CostPerQuery != nil || (m.InputPrice != nil && m.OutputPrice != nil)
}

// QueryCost returns the expected USD cost of answering a prompt of
// promptChars characters (input tokens estimated at CharsPerToken).
func (m *ModelInfo) QueryCost(promptChars int) (float64, error) {
	if m.CostPerQuery != nil {
		return *m.CostPerQuery, nil
	}
	if m.InputPrice == nil || m.OutputPrice == nil {
		return 0, fmt.Errorf("model %q has no price (cost_per_query or input_price and output_price)", m.Name)
	}
	out := m.OutputTokens
	if out <= 0 {
		out = DefaultOutputTokens
	}
	in := math.Ceil(float64(promptChars) / CharsPerToken)
	return (in**m.InputPrice + float64(out)**m.OutputPrice) / 1e6, nil
}

// Catalog is the set of models a router may choose from, with prices.
// A Catalog is safe for concurrent reads.
type Catalog struct {
	Models []ModelInfo
	index  map[string]int
}

// NewCatalog returns a catalog of the given entries; names must be unique
// and non-empty.
func NewCatalog(models []ModelInfo) (*Catalog, error) {
	c := &Catalog{Models: models, index: make(map[string]int, len(models))}
	for i, m := range models {
		if m.Name == "" {
			return nil, fmt.Errorf("catalog entry %d: name: empty", i+1)
		}
		if _, dup := c.index[m.Name]; dup {
			return nil, fmt.Errorf("catalog entry %d: name: duplicate %q", i+1, m.Name)
		}
		for _, p := range []*float64{m.CostPerQuery, m.InputPrice, m.OutputPrice} {
			if p != nil && (*p < 0 || math.IsNaN(*p) || math.IsInf(*p, 0)) {
				return nil, fmt.Errorf("catalog entry %q: price: %v is not a finite number >= 0", m.Name, *p)
			}
		}
		if m.OutputTokens < 0 {
			return nil, fmt.Errorf("catalog entry %q: output_tokens: %d < 0", m.Name, m.OutputTokens)
		}
		c.index[m.Name] = i
	}
	return c, nil
}

// Lookup returns the entry of a model.
func (c *Catalog) Lookup(name string) (*ModelInfo, bool) {
	if c == nil {
		return nil, false
	}
	i, ok := c.index[name]
	if !ok {
		return nil, false
	}
	return &c.Models[i], true
}

// Names returns the model names in catalog order.
func (c *Catalog) Names() []string {
	if c == nil {
		return nil
	}
	names := make([]string, len(c.Models))
	for i, m := range c.Models {
		names[i] = m.Name
	}
	return names
}

// Cost returns the expected cost of model answering prompt. A model that
// is not in the catalog, or has no price, is an error, never zero.
func (c *Catalog) Cost(model, prompt string) (float64, error) {
	m, ok := c.Lookup(model)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownModel, model)
	}
	return m.QueryCost(utf8.RuneCountInString(prompt))
}

var knownCatalogFields = map[string]bool{
	"name": true, "cost_per_query": true, "input_price": true, "output_price": true,
	"output_tokens": true, "upstream": true, "extra": true,
}

// LoadCatalog reads a catalog file: YAML or JSON holding a list of entries
// with "name", or an object keyed by model name (LLMRouter's
// llm_candidates.json), optionally under a top-level "models" key.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	c, err := ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog parses catalog bytes (YAML, of which JSON is a subset).
func ParseCatalog(b []byte) (*Catalog, error) {
	var root any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if m, ok := root.(map[string]any); ok {
		if inner, ok := m["models"]; ok && len(m) == 1 {
			root = inner
		}
	}
	var entries []map[string]any
	switch v := root.(type) {
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("entry %d: not an object", i+1)
			}
			entries = append(entries, m)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m, ok := v[k].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("entry %q: not an object", k)
			}
			e := make(map[string]any, len(m)+1)
			for kk, vv := range m {
				e[kk] = vv
			}
			if n, ok := e["name"]; ok && n != k {
				// Keep the entry's own "name" field, but the key names the model.
				e["extra_name"] = n
			}
			e["name"] = k
			entries = append(entries, e)
		}
	case nil:
		return nil, errors.New("empty catalog")
	default:
		return nil, errors.New("want a list of models or an object keyed by model name")
	}
	models := make([]ModelInfo, 0, len(entries))
	for i, e := range entries {
		m, err := catalogEntry(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		models = append(models, m)
	}
	return NewCatalog(models)
}

func catalogEntry(e map[string]any) (ModelInfo, error) {
	var m ModelInfo
	name, ok := e["name"].(string)
	if !ok || strings.TrimSpace(name) == "" {
		return m, errors.New("name: missing or not a string")
	}
	m.Name = name
	num := func(field string) (*float64, error) {
		v, ok := e[field]
		if !ok || v == nil {
			return nil, nil
		}
		f, err := toFloat(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return &f, nil
	}
	var err error
	if m.CostPerQuery, err = num("cost_per_query"); err != nil {
		return m, err
	}
	if m.InputPrice, err = num("input_price"); err != nil {
		return m, err
	}
	if m.OutputPrice, err = num("output_price"); err != nil {
		return m, err
	}
	if v, err := num("output_tokens"); err != nil {
		return m, err
	} else if v != nil {
		if *v != math.Trunc(*v) {
			return m, fmt.Errorf("output_tokens: %v is not an integer", *v)
		}
		m.OutputTokens = int(*v)
	}
	if u, ok := e["upstream"]; ok && u != nil {
		um, ok := u.(map[string]any)
		if !ok {
			return m, errors.New("upstream: not an object")
		}
		var up Upstream
		for k, dst := range map[string]*string{"base_url": &up.BaseURL, "model": &up.Model, "api_key_env": &up.APIKeyEnv} {
			if v, ok := um[k]; ok {
				s, ok := v.(string)
				if !ok {
					return m, fmt.Errorf("upstream.%s: not a string", k)
				}
				*dst = s
			}
		}
		if up.BaseURL == "" {
			return m, errors.New("upstream.base_url: missing")
		}
		m.Upstream = &up
	}
	for k, v := range e {
		if knownCatalogFields[k] {
			continue
		}
		if m.Extra == nil {
			m.Extra = make(map[string]any)
		}
		m.Extra[k] = v
	}
	if x, ok := e["extra"].(map[string]any); ok {
		if m.Extra == nil {
			m.Extra = make(map[string]any)
		}
		for k, v := range x {
			m.Extra[k] = v
		}
	}
	return m, nil
}

// WriteCatalog writes a catalog as YAML (or JSON when path ends in .json).
func WriteCatalog(path string, c *Catalog) error {
	var b []byte
	var err error
	if strings.EqualFold(filepath.Ext(path), ".json") {
		b, err = json.MarshalIndent(c.Models, "", "  ")
	} else {
		b, err = yaml.Marshal(c.Models)
	}
	if err != nil {
		return fmt.Errorf("encoding catalog: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// TokenCost returns the cost of a model's answer with known token counts.
func (m *ModelInfo) TokenCost(inTokens, outTokens int) (float64, error) {
	if m.CostPerQuery != nil {
		return *m.CostPerQuery, nil
	}
	if m.InputPrice == nil || m.OutputPrice == nil {
		return 0, fmt.Errorf("model %q has no price (cost_per_query or input_price and output_price)", m.Name)
	}
	return (float64(inTokens)**m.InputPrice + float64(outTokens)**m.OutputPrice) / 1e6, nil
}

// OutcomeCost returns the catalog cost of an outcome: from the token
// counts in its Meta ("prompt_tokens", "completion_tokens") when the
// source gave them, else estimated from the prompt.
func (c *Catalog) OutcomeCost(o *Outcome) (float64, error) {
	m, ok := c.Lookup(o.Model)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownModel, o.Model)
	}
	in, errIn := strconv.Atoi(o.Meta["prompt_tokens"])
	out, errOut := strconv.Atoi(o.Meta["completion_tokens"])
	if errIn == nil && errOut == nil && in >= 0 && out >= 0 {
		return m.TokenCost(in, out)
	}
	return m.QueryCost(utf8.RuneCountInString(o.Prompt))
}

package encoder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/routekit/routekit/data"
)

// MaxEncoders bounds the encoders one cache file holds, so that a file
// shared by runs of changing encoders (a built-in encoder refitted on
// every train run has a new identity each time) does not grow without
// limit. Save writes the cache's own encoder first and then the other
// encoders in the order the loaded file held them, so a file lists its
// encoders most recently saved first; LoadCache keeps the rows of the
// MaxEncoders-1 most recent other encoders and drops those of older ones
// (reported by Dropped).
const MaxEncoders = 4

// Cache holds embeddings of prompts for one encoder, keyed by prompt id
// and checked against the SHA-256 of the prompt's exact text
// (data.TextSHA256): a cached vector is used only for the very text it
// was made from. It also carries the rows of other encoders found in the
// file it was loaded from, which Save writes back. A Cache is not safe
// for concurrent use.
type Cache struct {
	id      string // Identity.ID of the encoder
	vecs    map[string]cached
	others  []encoderRows // most recently saved first
	dropped []EncoderRows
}

type cached struct {
	hash string // data.TextSHA256 of the text, "" when unknown
	vec  []float32
}

type encoderRows struct {
	id   string
	rows []data.Embedding
}

// EncoderRows counts the rows of one encoder in a cache file.
type EncoderRows struct {
	EncoderID string
	Rows      int
}

// NewCache returns an empty cache for an encoder.
func NewCache(id Identity) *Cache {
	return &Cache{id: id.ID(), vecs: map[string]cached{}}
}

// LoadCache reads an embedding cache file (data.WriteEmbeddings' layout)
// for the encoder id. A file that does not exist gives an empty cache.
// Rows of other encoders are kept for Save, up to MaxEncoders encoders in
// all (see Others and Dropped). Rows without a text hash (files written
// before the text_sha256 column) load, but never match a text: their
// prompts are encoded again.
func LoadCache(ctx context.Context, path string, id Identity, dim int) (*Cache, error) {
	c := NewCache(id)
	other := map[string]int{} // encoder id -> index in c.others
	err := data.ReadEmbeddings(ctx, path, func(e *data.Embedding) error {
		if e.EncoderID != c.id {
			i, ok := other[e.EncoderID]
			if !ok {
				i = len(c.others)
				other[e.EncoderID] = i
				c.others = append(c.others, encoderRows{id: e.EncoderID})
			}
			c.others[i].rows = append(c.others[i].rows, *e)
			return nil
		}
		if len(e.Vector) != dim {
			return fmt.Errorf("%s: prompt %s: embedding of %d components, the encoder makes %d", path, e.PromptID, len(e.Vector), dim)
		}
		c.vecs[e.PromptID] = cached{hash: e.TextSHA256, vec: e.Vector}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading embedding cache: %w", err)
	}
	if keep := MaxEncoders - 1; len(c.others) > keep {
		for _, o := range c.others[keep:] {
			c.dropped = append(c.dropped, EncoderRows{EncoderID: o.id, Rows: len(o.rows)})
		}
		c.others = slices.Clip(c.others[:keep])
	}
	return c, nil
}

// Len is the number of cached prompts of the cache's encoder.
func (c *Cache) Len() int { return len(c.vecs) }

// Get returns the cached vector of a prompt if it was made from exactly
// this text.
func (c *Cache) Get(promptID, text string) ([]float32, bool) {
	e, ok := c.vecs[promptID]
	if !ok || e.hash == "" || e.hash != data.TextSHA256(text) {
		return nil, false
	}
	return e.vec, true
}

// Put caches the vector of a prompt's text, replacing any other.
func (c *Cache) Put(promptID, text string, v []float32) {
	c.vecs[promptID] = cached{hash: data.TextSHA256(text), vec: v}
}

// Others lists the other encoders whose rows Save keeps, most recently
// saved first.
func (c *Cache) Others() []EncoderRows {
	out := make([]EncoderRows, len(c.others))
	for i, o := range c.others {
		out[i] = EncoderRows{EncoderID: o.id, Rows: len(o.rows)}
	}
	return out
}

// Dropped lists the encoders of the loaded file whose rows Save drops:
// the oldest, beyond MaxEncoders.
func (c *Cache) Dropped() []EncoderRows { return slices.Clone(c.dropped) }

// Coverage says how much of a set of prompts a cache holds.
type Coverage struct {
	// Reused prompts have a vector made from the same text.
	Reused int
	// Changed prompts have a vector made from another text under the
	// same prompt id: they are encoded again.
	Changed int
	// Unhashed prompts have a vector of unknown text (a file from before
	// text hashes): they are encoded again.
	Unhashed int
	// New prompts have no vector.
	New int
}

// Encode is the number of prompts Embed will encode.
func (v Coverage) Encode() int { return v.Changed + v.Unhashed + v.New }

// Check counts how the cache covers prompts (ids[i] names texts[i]); a
// prompt repeated with the same text counts once.
func (c *Cache) Check(ids, texts []string) Coverage {
	var v Coverage
	seen := map[[2]string]bool{}
	for i, id := range ids {
		h := data.TextSHA256(texts[i])
		if seen[[2]string{id, h}] {
			continue
		}
		seen[[2]string{id, h}] = true
		e, ok := c.vecs[id]
		switch {
		case !ok:
			v.New++
		case e.hash == "":
			v.Unhashed++
		case e.hash != h:
			v.Changed++
		default:
			v.Reused++
		}
	}
	return v
}

// Save writes the cache atomically: the rows of its encoder sorted by
// prompt id, then the kept rows of other encoders (Others), most recently
// saved first.
func (c *Cache) Save(path string) error {
	ids := make([]string, 0, len(c.vecs))
	for id := range c.vecs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := len(ids)
	for _, o := range c.others {
		n += len(o.rows)
	}
	rows := make([]data.Embedding, 0, n)
	for _, id := range ids {
		e := c.vecs[id]
		rows = append(rows, data.Embedding{PromptID: id, EncoderID: c.id, Vector: e.vec, TextSHA256: e.hash})
	}
	for _, o := range c.others {
		rows = append(rows, o.rows...)
	}
	return data.WriteEmbeddings(path, rows)
}

// EmbedConfig configures Embed.
type EmbedConfig struct {
	// Batch is the number of prompts per Encode call; zero means 256.
	Batch int
	// Progress, when set, is called after each batch with the prompts
	// done and the total to encode.
	Progress func(done, total int)
}

// Embed returns one vector per prompt (ids[i] names texts[i]), taking
// cached vectors from c when they were made from the same text (see
// Cache.Get) and encoding, then caching, the others. A prompt repeated
// with the same text is encoded once. It returns how many texts were
// encoded.
func Embed(ctx context.Context, enc Encoder, c *Cache, ids, texts []string, cfg EmbedConfig) ([][]float32, int, error) {
	if len(ids) != len(texts) {
		panic("encoder.Embed: ids and texts differ in length")
	}
	if c == nil {
		c = NewCache(enc.Identity())
	} else if c.id != enc.Identity().ID() {
		return nil, 0, fmt.Errorf("embedding cache of encoder %s used with encoder %s", c.id, enc.Identity().ID())
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 256
	}
	type key struct{ id, hash string }
	out := make([][]float32, len(ids))
	keys := make([]key, len(ids))
	var missIdx []int        // the first index of each text to encode
	pending := map[key]int{} // its position in missIdx
	for i, id := range ids {
		keys[i] = key{id, data.TextSHA256(texts[i])}
		if e, ok := c.vecs[id]; ok && e.hash != "" && e.hash == keys[i].hash {
			out[i] = e.vec
			continue
		}
		if _, dup := pending[keys[i]]; !dup {
			pending[keys[i]] = len(missIdx)
			missIdx = append(missIdx, i)
		}
	}
	encoded := make([][]float32, len(missIdx))
	for start := 0; start < len(missIdx); start += batch {
		end := min(start+batch, len(missIdx))
		chunk := make([]string, end-start)
		for j, i := range missIdx[start:end] {
			chunk[j] = texts[i]
		}
		vecs, err := enc.Encode(ctx, chunk)
		if err != nil {
			return nil, start, err
		}
		if len(vecs) != len(chunk) {
			return nil, start, fmt.Errorf("encoder %s returned %d vectors for %d texts", c.id, len(vecs), len(chunk))
		}
		for j, i := range missIdx[start:end] {
			encoded[start+j] = vecs[j]
			c.vecs[ids[i]] = cached{hash: keys[i].hash, vec: vecs[j]}
		}
		if cfg.Progress != nil {
			cfg.Progress(end, len(missIdx))
		}
	}
	for i := range out {
		if out[i] == nil {
			out[i] = encoded[pending[keys[i]]]
		}
	}
	return out, len(missIdx), nil
}

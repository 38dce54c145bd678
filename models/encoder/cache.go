package encoder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/routekit/routekit/data"
)

// Cache holds embeddings of prompts by prompt id for one encoder. A Cache
// is not safe for concurrent use.
type Cache struct {
	id   string // Identity.ID of the encoder
	vecs map[string][]float32
	// Stale counts the rows of a loaded file that another encoder made.
	Stale int
}

// NewCache returns an empty cache for an encoder.
func NewCache(id Identity) *Cache {
	return &Cache{id: id.ID(), vecs: map[string][]float32{}}
}

// LoadCache reads the embeddings that the encoder id made from an
// embedding cache file (data.WriteEmbeddings' layout). A file that does
// not exist gives an empty cache; rows of other encoders are counted in
// Stale and dropped.
func LoadCache(ctx context.Context, path string, id Identity, dim int) (*Cache, error) {
	c := NewCache(id)
	err := data.ReadEmbeddings(ctx, path, func(e *data.Embedding) error {
		if e.EncoderID != c.id {
			c.Stale++
			return nil
		}
		if len(e.Vector) != dim {
			return fmt.Errorf("%s: prompt %s: embedding of %d components, the encoder makes %d", path, e.PromptID, len(e.Vector), dim)
		}
		c.vecs[e.PromptID] = e.Vector
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading embedding cache: %w", err)
	}
	return c, nil
}

// Len is the number of cached prompts.
func (c *Cache) Len() int { return len(c.vecs) }

// Get returns a prompt's cached vector.
func (c *Cache) Get(promptID string) ([]float32, bool) {
	v, ok := c.vecs[promptID]
	return v, ok
}

// Put caches a prompt's vector.
func (c *Cache) Put(promptID string, v []float32) { c.vecs[promptID] = v }

// Save writes the cache, sorted by prompt id, atomically.
func (c *Cache) Save(path string) error {
	ids := make([]string, 0, len(c.vecs))
	for id := range c.vecs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rows := make([]data.Embedding, len(ids))
	for i, id := range ids {
		rows[i] = data.Embedding{PromptID: id, EncoderID: c.id, Vector: c.vecs[id]}
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
// cached vectors from c and encoding, then caching, only the missing
// ones. It returns how many prompts were encoded.
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
	out := make([][]float32, len(ids))
	var missIdx []int
	seen := map[string]int{} // a prompt id repeated in ids is encoded once
	for i, id := range ids {
		if v, ok := c.Get(id); ok {
			out[i] = v
			continue
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = i
		missIdx = append(missIdx, i)
	}
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
		for j, i := range missIdx[start:end] {
			c.Put(ids[i], vecs[j])
		}
		if cfg.Progress != nil {
			cfg.Progress(end, len(missIdx))
		}
	}
	for i, id := range ids {
		if out[i] == nil {
			out[i], _ = c.Get(id)
		}
	}
	return out, len(missIdx), nil
}

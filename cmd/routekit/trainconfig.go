package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/routekit/routekit/irt"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/train"
)

// trainFile is the YAML file of "routekit train --config": the
// hyperparameters of every router kind. Absent fields keep the trainers'
// defaults; flags given on the command line win over the file.
//
//	router: mf
//	seed: 1
//	val: 0.1
//	knn: {k: 40, prior_weight: 1}
//	mf: {dim: 128, alpha: 0.1, learning_rate: 0.001, epochs: 100, batch_size: 256,
//	     weight_decay: 0.0001, patience: 5, val_fraction: 0.1, ties: drop}
//	irt: {dims: 0, l2: 0, l2_theta: 0, max_iter: 1000, patience: 20, optimizer: lbfgs}
//	bert: {head: multilabel, hidden: 128, layers: 1, dropout: 0, learning_rate: 0.001, epochs: 30,
//	       batch_size: 256, weight_decay: 0.0001, patience: 5, val_fraction: 0.1, ties: drop}
type trainFile struct {
	Router string   `yaml:"router"`
	Seed   *uint64  `yaml:"seed"`
	Val    *float64 `yaml:"val"`
	KNN    struct {
		K           int     `yaml:"k"`
		PriorWeight float64 `yaml:"prior_weight"`
	} `yaml:"knn"`
	MF struct {
		Dim          int     `yaml:"dim"`
		Alpha        float64 `yaml:"alpha"`
		LearningRate float64 `yaml:"learning_rate"`
		Epochs       int     `yaml:"epochs"`
		BatchSize    int     `yaml:"batch_size"`
		WeightDecay  float64 `yaml:"weight_decay"`
		Patience     int     `yaml:"patience"`
		ValFraction  float64 `yaml:"val_fraction"`
		Ties         string  `yaml:"ties"`
	} `yaml:"mf"`
	IRT struct {
		Dims         int     `yaml:"dims"`
		L2           float64 `yaml:"l2"`
		L2Theta      float64 `yaml:"l2_theta"`
		MaxIter      int     `yaml:"max_iter"`
		Patience     int     `yaml:"patience"`
		ValFraction  float64 `yaml:"val_fraction"`
		Optimizer    string  `yaml:"optimizer"`
		LearningRate float64 `yaml:"learning_rate"`
	} `yaml:"irt"`
	BERT struct {
		Head         string  `yaml:"head"`
		Hidden       int     `yaml:"hidden"`
		Layers       int     `yaml:"layers"`
		Dropout      float64 `yaml:"dropout"`
		LearningRate float64 `yaml:"learning_rate"`
		Epochs       int     `yaml:"epochs"`
		BatchSize    int     `yaml:"batch_size"`
		WeightDecay  float64 `yaml:"weight_decay"`
		Patience     int     `yaml:"patience"`
		ValFraction  float64 `yaml:"val_fraction"`
		Ties         string  `yaml:"ties"`
	} `yaml:"bert"`
}

// trainConfigs are the resolved settings of one training run.
type trainConfigs struct {
	router string
	seed   uint64
	val    float64
	knn    models.KNNConfig
	mf     train.MFConfig
	irt    irt.Config
	bert   train.BERTConfig
}

// loadTrainFile reads and strictly decodes a --config file.
func loadTrainFile(path string) (*trainFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading training config: %w", err)
	}
	var f trainFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parsing training config %s: %w", path, err)
	}
	return &f, nil
}

// resolveTrainConfigs starts from the file (nil: none) and applies the
// flags the user set; the trainers validate the result.
func resolveTrainConfigs(f *trainFile, fs *flag.FlagSet, router string, seed uint64, val float64, knnK, mfDim, epochs, bertHidden int, bertHead string) (trainConfigs, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	c := trainConfigs{router: router, seed: seed, val: val}
	if f != nil {
		if f.Router != "" && !set["router"] {
			c.router = f.Router
		}
		if f.Seed != nil && !set["seed"] {
			c.seed = *f.Seed
		}
		if f.Val != nil && !set["val"] {
			c.val = *f.Val
		}
		c.knn = models.KNNConfig{K: f.KNN.K, PriorWeight: f.KNN.PriorWeight}
		m := f.MF
		c.mf = train.MFConfig{Dim: m.Dim, Alpha: m.Alpha, LearningRate: m.LearningRate, Epochs: m.Epochs, BatchSize: m.BatchSize,
			WeightDecay: m.WeightDecay, Patience: m.Patience, ValFraction: m.ValFraction, Ties: m.Ties}
		i := f.IRT
		c.irt = irt.Config{Dims: i.Dims, L2: i.L2, L2Theta: i.L2Theta, MaxIter: i.MaxIter, Patience: i.Patience,
			ValFraction: i.ValFraction, Optimizer: irt.Optimizer(i.Optimizer), LearningRate: i.LearningRate}
		bf := f.BERT
		c.bert = train.BERTConfig{Head: bf.Head, Hidden: bf.Hidden, Layers: bf.Layers, Dropout: bf.Dropout,
			LearningRate: bf.LearningRate, Epochs: bf.Epochs, BatchSize: bf.BatchSize, WeightDecay: bf.WeightDecay,
			Patience: bf.Patience, ValFraction: bf.ValFraction, Ties: bf.Ties}
	}
	if set["knn-k"] || c.knn.K == 0 {
		c.knn.K = knnK
	}
	if set["mf-dim"] || c.mf.Dim == 0 {
		c.mf.Dim = mfDim
	}
	if set["epochs"] || c.mf.Epochs == 0 {
		c.mf.Epochs = epochs
	}
	if set["epochs"] || c.bert.Epochs == 0 {
		c.bert.Epochs = epochs
	}
	if set["bert-hidden"] || c.bert.Hidden == 0 {
		c.bert.Hidden = bertHidden
	}
	if set["bert-head"] || c.bert.Head == "" {
		c.bert.Head = bertHead
	}
	c.bert.Seed = c.seed
	c.mf.Seed, c.irt.Seed = c.seed, c.seed
	if c.val < 0 || c.val >= 1 {
		return c, usagef("--val %v: want a share in [0, 1)", c.val)
	}
	switch c.router {
	case "knn":
		return c, c.knn.Validate()
	case "mf":
		return c, c.mf.Validate()
	case "irt":
		return c, c.irt.Validate()
	case "bert":
		if c.bert.Head != "" && c.bert.Head != train.HeadMultiLabel && c.bert.Head != train.Head3Way {
			return c, usagef("--bert-head %q: want %s or %s", c.bert.Head, train.HeadMultiLabel, train.Head3Way)
		}
		// The strong model of a 3way head is set from the data's costs.
		v := c.bert
		if v.Head == train.Head3Way {
			v.Strong = "set from the data"
		}
		return c, v.Validate()
	}
	return c, usagef("--router %q: want knn, mf, irt or bert", c.router)
}

package models

import (
	"github.com/routekit/routekit/irt"
)

// IRT is the scorer of an IRT router: P(m answers q well) =
// sigmoid(a_q · θ_m − b_q), with the item parameters a_q and b_q
// predicted from the prompt's embedding (package irt). It explains each
// prompt by its difficulty b_q. It is read-only and safe for concurrent
// use.
type IRT struct {
	P *irt.Params
}

// Models returns the candidate models.
func (s *IRT) Models() []string { return s.P.Models }

// Score writes each model's probability of a good answer.
func (s *IRT) Score(emb []float32, dst []float64) { s.P.Probs(emb, dst) }

// Difficulty returns the prompt's difficulty b_q (a logit).
func (s *IRT) Difficulty(emb []float32) float64 { return s.P.Difficulty(emb) }

// MarshalBinary encodes the parameters (irt's versioned format).
func (s *IRT) MarshalBinary() ([]byte, error) { return s.P.MarshalBinary() }

// UnmarshalIRT decodes MarshalBinary's format.
func UnmarshalIRT(b []byte) (*IRT, error) {
	var p irt.Params
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return &IRT{P: &p}, nil
}

package synth

import (
	"fmt"
	"math/rand/v2"
)

// canonicalSkills are the skill names of a 4-skill world; a family's mix is
// written over them and mapped onto other skill counts by skillMix.
var canonicalSkills = [4]string{"math", "code", "knowledge", "language"}

// Task family names: the values of data.Outcome.Task and data.Battle.Task.
const (
	FamilyArithmetic    = "arithmetic"
	FamilyAlgebra       = "algebra"
	FamilyCodeWriting   = "code_writing"
	FamilyCodeDebugging = "code_debugging"
	FamilyFactualQA     = "factual_qa"
	FamilyReading       = "reading_comprehension"
	FamilyCreative      = "creative_writing"
	FamilySummarisation = "summarisation"
	FamilyTranslation   = "translation"
	FamilyLogic         = "logic_puzzle"
	FamilyScienceMCQ    = "science_mcq"
	FamilyExpertAdvice  = "expert_advice"
)

// generator writes one prompt of a family at a template level 0 (easy) to
// 3 (hard). extra in [0, 1] measures the visible complexity within the
// level (sizes of numbers, number of constraints, input length).
type generator func(r *rand.Rand, level int) (text string, extra float64)

type family struct {
	name string
	// mix is the skill mix over canonicalSkills; it sums to 1.
	mix [4]float64
	// base is the family's base difficulty (logit scale).
	base float64
	// weight is the family's relative frequency at the start of the window.
	weight float64
	// code families grow in share over time (drift).
	code bool
	// graded families get a score in {0, 0.1, ..., 1}; the others 0 or 1.
	graded bool
	// outTokens is the typical answer length in tokens at level 0.
	outTokens int
	gen       generator
}

var families = []family{
	{FamilyArithmetic, [4]float64{0.8, 0, 0, 0.2}, -0.7, 1.0, false, false, 160, genArithmetic},
	{FamilyAlgebra, [4]float64{0.9, 0.05, 0, 0.05}, 0.0, 0.8, false, false, 260, genAlgebra},
	{FamilyCodeWriting, [4]float64{0.15, 0.75, 0.1, 0}, 0.3, 1.0, true, false, 420, genCodeWriting},
	{FamilyCodeDebugging, [4]float64{0.1, 0.7, 0.15, 0.05}, 0.5, 0.7, true, false, 340, genCodeDebugging},
	{FamilyFactualQA, [4]float64{0, 0, 0.9, 0.1}, -0.3, 1.2, false, false, 70, genFactualQA},
	{FamilyReading, [4]float64{0, 0, 0.25, 0.75}, -0.5, 0.8, false, false, 90, genReading},
	{FamilyCreative, [4]float64{0, 0, 0.1, 0.9}, -0.6, 0.9, false, true, 450, genCreative},
	{FamilySummarisation, [4]float64{0, 0, 0.15, 0.85}, -0.6, 0.8, false, true, 120, genSummarisation},
	{FamilyTranslation, [4]float64{0, 0, 0.2, 0.8}, -0.4, 0.7, false, true, 0, genTranslation},
	{FamilyLogic, [4]float64{0.6, 0.1, 0, 0.3}, 0.6, 0.6, false, false, 240, genLogic},
	{FamilyScienceMCQ, [4]float64{0.3, 0, 0.7, 0}, -0.1, 0.8, false, false, 50, genScienceMCQ},
	{FamilyExpertAdvice, [4]float64{0, 0, 0.7, 0.3}, 0.2, 0.7, false, false, 380, genExpertAdvice},
}

// Families returns the task family names in a fixed order.
func Families() []string {
	out := make([]string, len(families))
	for i, f := range families {
		out[i] = f.name
	}
	return out
}

// skillNames returns the names of k skills.
func skillNames(k int) []string {
	if k == len(canonicalSkills) {
		return canonicalSkills[:]
	}
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("skill_%d", i+1)
	}
	return out
}

// skillMix maps the canonical mix of family fi onto k skills. With k < 4
// canonical skill c goes to skill c mod k; with k > 4 the skills are split
// into 4 groups (skill j in group j mod 4) and each family uses, for each
// canonical skill, one member of its group chosen by the family index, so
// that different families load on different skills.
func skillMix(fi, k int) []float64 {
	mix := families[fi].mix
	out := make([]float64, k)
	switch {
	case k == len(canonicalSkills):
		copy(out, mix[:])
	case k < len(canonicalSkills):
		for c, w := range mix {
			out[c%k] += w
		}
	default:
		for c, w := range mix {
			g := (k - c + 3) / 4 // members j = c, c+4, ... < k
			j := c + 4*((fi+c)%g)
			out[j] += w
		}
	}
	return out
}

package synth_test

import (
	"fmt"

	"github.com/routekit/routekit/data/synth"
)

func Example() {
	w, err := synth.Generate(synth.Config{Models: 5, Prompts: 100, Battles: 50})
	if err != nil {
		panic(err)
	}
	fmt.Println("models:", len(w.Models))
	fmt.Println("prompts:", len(w.Prompts))
	fmt.Println("outcomes:", len(w.Outcomes))
	fmt.Println("battles:", len(w.Battles))
	fmt.Println("skills:", w.Truth.Skills)
	p := w.Prompts[0]
	fmt.Println("first prompt answered at:", p.Time.Format("2006-01-02"))
	// Output:
	// models: 5
	// prompts: 100
	// outcomes: 500
	// battles: 50
	// skills: [math code knowledge language]
	// first prompt answered at: 2026-01-01
}

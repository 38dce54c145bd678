package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Prompt templates, one generator per family. Harder levels use harder
// wording ("prove", "rigorously", "edge cases", "multi-step"), more
// constraints, longer inputs and larger numbers, so that a text encoder
// can recover much of the latent difficulty.

var prefixes = []string{"", "", "", "", "", "Hi! ", "Hello! ", "Quick question. ", "Please help. ", "I need help with this. ", "Can you help? "}

var suffixes = []string{"", "", "", "", "", " Thanks!", " Thank you.", " Please be clear.", " Thanks in advance."}

// frame adds a random polite prefix or suffix; it carries no difficulty.
func frame(r *rand.Rand, s string) string {
	suf := pick(r, suffixes)
	if suf != "" && strings.Contains(s, "\n") {
		suf = "\n\n" + suf[1:]
	}
	return pick(r, prefixes) + s + suf
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

func genArithmetic(r *rand.Rand, level int) (string, float64) {
	name := pick(r, firstNames)
	item := pick(r, countables)
	shop := pick(r, shops)
	switch level {
	case 0:
		a, b := between(r, 2, 20), between(r, 2, 12)
		extra := float64(a*b) / 240
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("%s has %d %s and buys %d more. How many %s does %s have now?", name, a, item, b, item, name), extra
		case 1:
			return fmt.Sprintf("%s had %d %s and gave %d away. How many are left?", name, a+b, item, b), extra
		case 2:
			return fmt.Sprintf("A box holds %d %s. How many %s are in %d boxes?", a, item, item, b), extra
		default:
			return fmt.Sprintf("What is %d multiplied by %d?", a, b), extra
		}
	case 1:
		price, qty := between(r, 2, 25), between(r, 3, 15)
		extra := float64(price*qty) / 375
		switch r.IntN(3) {
		case 0:
			bill := 50
			for bill < price*qty {
				bill *= 2
			}
			return fmt.Sprintf("%s buys %d %s at $%d each and pays with a $%d note. How much change does %s get?", name, qty, item, price, bill, name), extra
		case 1:
			m, a := between(r, 10, 120), between(r, 10, 120)
			return fmt.Sprintf("A %s sells %d %s in the morning and %d in the afternoon. If each costs $%d, how much money does it take in that day?", shop, m, item, a, price), extra
		default:
			pages := qty * between(r, 10, 40)
			return fmt.Sprintf("%s reads %d pages a day. How many days does it take to finish a %d-page book?", name, qty, pages), extra
		}
	case 2:
		a, pct, c := between(r, 40, 900), 5*between(r, 2, 12), between(r, 5, 40)
		extra := float64(a) / 900
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("A %s sold %d %s on Monday. On Tuesday it sold %d%% more than on Monday, and on Wednesday %d fewer than on Tuesday. How many %s were sold over the three days? Show each step.", shop, a, item, pct, c, item), extra
		case 1:
			return fmt.Sprintf("%s invests $%d at %d%% simple interest per year, adds $%d at the end of the second year and withdraws $%d after three years. How much money is left in the account? Work through it step by step.", name, a*10, pct/5, c*10, c*25), extra
		default:
			v1, v2 := between(r, 40, 120), between(r, 40, 120)
			return fmt.Sprintf("A train leaves %s at %d:%02d travelling at %d km/h. A second train leaves the same station %d minutes later on a parallel track at %d km/h. When and how far from the station does the second train catch up, if it does at all? Show each step.", pick(r, cities), between(r, 6, 11), 5*r.IntN(12), v1, c, v2), extra
		}
	default:
		n := between(r, 1200, 98000)
		extra := float64(n) / 98000
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Solve this multi-step problem rigorously, justifying every step: a factory produces %d %s per day with %d machines. After %d days, %d machines break down and the remaining ones work %d%% faster. Each unit sells for $%.2f and fixed costs are $%d per month. How many full days are needed to reach a cumulative profit of $%d? State your assumptions and verify the answer.", n, item, between(r, 8, 40), between(r, 3, 20), between(r, 1, 6), 5*between(r, 2, 9), float64(between(r, 150, 2500))/100, 1000*between(r, 20, 400), 1000*between(r, 100, 5000)), extra
		case 1:
			return fmt.Sprintf("%s deposits $%d in an account paying %.1f%% interest compounded monthly and adds $%d at the end of every month. After %d years the rate drops to %.1f%%. How much is in the account after %d years in total? Give the answer to the nearest cent, show the multi-step derivation and check it with a second method.", name, n, float64(between(r, 15, 75))/10, between(r, 50, 900), between(r, 2, 6), float64(between(r, 5, 30))/10, between(r, 8, 15)), extra
		default:
			return fmt.Sprintf("Three workers can paint a house in %d, %d and %d hours respectively. They start together, but after %d hours the slowest leaves and the fastest slows down by %d%%. A second house is %d%% larger. Rigorously compute the total time to paint both houses, handle every change of rate as a separate step, and prove your answer is consistent.", between(r, 6, 15), between(r, 16, 25), between(r, 26, 40), between(r, 2, 5), 5*between(r, 2, 8), 5*between(r, 2, 12)), extra
		}
	}
}

// inductionFacts are true divisibility statements for induction proofs.
var inductionFacts = []struct{ expr, div string }{
	{"n^3 - n", "6"}, {"n^5 - n", "30"}, {"7^n - 1", "6"}, {"4^n + 15n - 1", "9"},
	{"n^3 + 2n", "3"}, {"11^n - 6", "5"}, {"5^n - 1", "4"}, {"n(n+1)(n+2)", "6"},
	{"3^(2n) - 1", "8"}, {"n^7 - n", "7"},
}

func genAlgebra(r *rand.Rand, level int) (string, float64) {
	switch level {
	case 0:
		a, x, b := between(r, 2, 9), between(r, -10, 15), between(r, 1, 30)
		extra := float64(a) / 9
		if chance(r, 0.5) {
			return fmt.Sprintf("Solve for x: %dx + %d = %d.", a, b, a*x+b), extra
		}
		return fmt.Sprintf("What is the value of x if %dx = %d?", a, a*x), extra
	case 1:
		x, y := between(r, -9, 9), between(r, -9, 9)
		a, b, d, e := between(r, 1, 9), between(r, 1, 9), between(r, 1, 9), between(r, 1, 9)
		extra := float64(a+b+d+e) / 36
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Solve the system of equations: %dx + %dy = %d and %dx - %dy = %d.", a, b, a*x+b*y, d, e, d*x-e*y), extra
		case 1:
			p, q := between(r, -12, 12), between(r, -12, 12)
			return fmt.Sprintf("Factor the quadratic %s and give its roots.", poly(1, -(p+q), p*q)), extra
		default:
			return fmt.Sprintf("Simplify the expression (%dx^2 + %dx) / %dx, assuming x is not zero.", a*d, a*e, a), extra
		}
	case 2:
		a, b, c := between(r, 2, 12), between(r, 1, 40), between(r, 1, 30)
		extra := float64(b) / 40
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Solve the inequality |%dx - %d| < %d and express the solution in interval notation. Explain each step.", a, b, c), extra
		case 1:
			r1, r2, r3 := between(r, -6, 6), between(r, -6, 6), between(r, -6, 6)
			return fmt.Sprintf("Find all real roots of the cubic %s, showing how you found the first root.", poly(1, -(r1+r2+r3), r1*r2+r1*r3+r2*r3, -r1*r2*r3)), extra
		default:
			return fmt.Sprintf("Find the sum of the first %d terms of the arithmetic sequence that starts %d, %d, %d, and explain the formula you use.", 10*a, b, b+c, b+2*c), extra
		}
	default:
		f := pick(r, inductionFacts)
		n0 := between(r, 1, 3)
		extra := float64(len(f.expr)) / 14
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Prove rigorously, by induction, that %s is divisible by %s for every integer n >= %d. State the base case and the inductive step explicitly.", f.expr, f.div, n0), extra
		case 1:
			return fmt.Sprintf("Prove that %s is divisible by %s for all integers n >= %d without using induction, then generalise: for which other divisors does the statement still hold? Justify every claim rigorously.", f.expr, f.div, n0), extra
		default:
			a, b := between(r, 1, 9), between(r, -9, 9)
			c := b*b/(4*a) + between(r, 1, 20)
			return fmt.Sprintf("Let f(x) = %s. Prove that f has no real roots, find its minimum value exactly, and prove rigorously that f(x) > %d for all real x. Then determine all integers k for which f(x) = k has an integer solution.", poly(a, b, c), between(r, 0, c/2)), extra
		}
	}
}

func genCodeWriting(r *rand.Rand, level int) (string, float64) {
	lang := pick(r, programmingLanguages)
	switch level {
	case 0:
		return fmt.Sprintf("Write a %s function that %s.", lang, pick(r, easyCodeTasks)), 0.2 * r.Float64()
	case 1:
		task := pick(r, easyCodeTasks)
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Write a %s function that %s. Add a short doc comment and two example calls.", lang, task), 0.4
		case 1:
			return fmt.Sprintf("Write a %s function that %s without using any library helpers, and explain how it works.", lang, task), 0.6
		default:
			return fmt.Sprintf("In %s, write a function that %s and a second one that does the opposite where that makes sense.", lang, task), 0.5
		}
	case 2:
		e := pickN(r, codeEdgeCases, 2)
		if chance(r, 0.5) {
			return fmt.Sprintf("Implement %s in %s. Handle edge cases such as %s and %s, and include unit tests.", pick(r, hardCodeTasks), lang, e[0], e[1]), 0.5
		}
		return fmt.Sprintf("Implement %s in %s with a clean API. Write unit tests that cover %s and %s, and explain the time complexity.", pick(r, hardCodeTasks), lang, e[0], e[1]), 0.6
	default:
		k := between(r, 3, 5)
		e := pickN(r, codeEdgeCases, k)
		size := []string{"10^5", "10^6", "10^7", "10^8", "10^9"}[r.IntN(5)]
		extra := float64(k-3) / 2
		reqs := []string{
			"optimise for O(n log n) time or better and O(n) memory",
			"handle all edge cases (" + strings.Join(e, ", ") + ")",
			"make it safe for concurrent use",
			"support inputs of up to " + size + " elements",
			"rigorously prove the time and memory complexity",
		}
		r.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
		return fmt.Sprintf("Implement %s in %s. Requirements: %s. Include property-based tests.", pick(r, hardCodeTasks), lang, strings.Join(reqs, "; ")), extra
	}
}

var funcNames = []string{"total", "process", "compute", "summarise", "collect", "tally", "aggregate", "handle", "score", "merge_all", "find_max", "average"}
var varNames = []string{"items", "values", "nums", "data", "records", "xs", "scores", "prices", "counts", "rows"}

func genCodeDebugging(r *rand.Rand, level int) (string, float64) {
	fn, xs := pick(r, funcNames), pick(r, varNames)
	switch level {
	case 0, 1:
		var lang, code, symptom string
		switch r.IntN(4) {
		case 0:
			lang = "Python"
			code = fmt.Sprintf("def %s(%s):\n    result = 0\n    for i in range(1, len(%s)):\n        result += %s[i]\n    return result", fn, xs, xs, xs)
			symptom = "it returns a smaller sum than expected"
		case 1:
			lang = "Python"
			code = fmt.Sprintf("def %s(x, %s=[]):\n    %s.append(x)\n    return %s", fn, xs, xs, xs)
			symptom = "the list keeps growing between calls"
		case 2:
			lang = "Java"
			code = fmt.Sprintf("boolean %s(String a, String b) {\n    return a == b;\n}", fn)
			symptom = "it returns false for two equal strings"
		default:
			lang = "JavaScript"
			code = fmt.Sprintf("function %s(%s) {\n  let max = 0;\n  for (let i = 0; i <= %s.length; i++) {\n    if (%s[i] > max) max = %s[i];\n  }\n  return max;\n}", fn, xs, xs, xs, xs)
			symptom = "it gives a wrong answer for some arrays"
		}
		if level == 0 {
			return fmt.Sprintf("Why is this %s code wrong? %s.\n\n%s", lang, capitalise(symptom), code), 0.3
		}
		return fmt.Sprintf("Find and fix the bug in this %s function; %s. Explain the fix.\n\n%s", lang, symptom, code), 0.6
	case 2:
		var lang, code string
		switch r.IntN(3) {
		case 0:
			lang = "Python"
			code = fmt.Sprintf("def search(%s, target):\n    lo, hi = 0, len(%s)\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if %s[mid] < target:\n            lo = mid\n        else:\n            hi = mid\n    return lo", xs, xs, xs)
		case 1:
			lang = "JavaScript"
			code = fmt.Sprintf("async function %s(ids) {\n  const out = [];\n  ids.forEach(async (id) => {\n    const r = await fetch('/api/' + id);\n    out.push(await r.json());\n  });\n  return out;\n}", fn)
		default:
			lang = "C++"
			code = fmt.Sprintf("void %s(std::vector<int>& %s) {\n  for (auto it = %s.begin(); it != %s.end(); ++it) {\n    if (*it < 0) %s.erase(it);\n  }\n}", fn, xs, xs, xs, xs)
		}
		e := pickN(r, codeEdgeCases, 2)
		return fmt.Sprintf("This %s code fails on edge cases such as %s and %s, and sometimes never returns. Find all the bugs, fix them, and add tests:\n\n%s", lang, e[0], e[1], code), 0.5
	default:
		var lang, code string
		switch r.IntN(3) {
		case 0:
			lang = "Go"
			code = fmt.Sprintf("func %s(%s []int) int {\n\tvar n int\n\tvar wg sync.WaitGroup\n\tfor _, v := range %s {\n\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tif v%%2 == 0 {\n\t\t\t\tn++\n\t\t\t}\n\t\t}()\n\t}\n\twg.Wait()\n\treturn n\n}", fn, xs, xs)
		case 1:
			lang = "Python"
			code = fmt.Sprintf("class Cache:\n    def __init__(self, cap):\n        self.cap, self.d, self.order = cap, {}, []\n    def get(self, k):\n        return self.d.get(k)\n    def put(self, k, v):\n        if len(self.d) > self.cap:\n            self.d.pop(self.order.pop())\n        self.d[k] = v\n        self.order.append(k)")
		default:
			lang = "Rust"
			code = fmt.Sprintf("fn %s(%s: &mut Vec<u32>) -> u32 {\n    let mut s: u32 = 0;\n    for i in 0..%s.len() {\n        s += %s[i] * %s[i];\n    }\n    s / %s.len() as u32\n}", fn, xs, xs, xs, xs, xs)
		}
		k := between(r, 2, 4)
		e := pickN(r, codeEdgeCases, k)
		return fmt.Sprintf("The following %s code fails intermittently in production under load. Identify the root cause of every bug, explain rigorously why each happens (%s), provide a corrected version that stays O(n log n) or better, and describe tests that would have caught them.\n\n%s", lang, strings.Join(e, ", "), code), float64(k-2) / 2
	}
}

// poly writes the polynomial with the given coefficients, highest power
// first, such as "x^3 - 3x^2 - 18x".
func poly(coef ...int) string {
	var b strings.Builder
	for i, c := range coef {
		pow := len(coef) - 1 - i
		if c == 0 {
			continue
		}
		switch {
		case b.Len() == 0 && c < 0:
			b.WriteString("-")
		case b.Len() > 0 && c < 0:
			b.WriteString(" - ")
		case b.Len() > 0:
			b.WriteString(" + ")
		}
		if c < 0 {
			c = -c
		}
		if c != 1 || pow == 0 {
			b.WriteString(strconv.Itoa(c))
		}
		switch pow {
		case 0:
		case 1:
			b.WriteString("x")
		default:
			fmt.Fprintf(&b, "x^%d", pow)
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// articleFor returns the indefinite article of a number said in English.
func articleFor(n int) string {
	if n == 8 || n == 11 || n == 18 || (n >= 80 && n < 90) || (n >= 800 && n < 900) {
		return "an"
	}
	return "a"
}

// withArticle prefixes a noun phrase with "a" or "an".
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiouAEIOU", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var unitPairs = [][2]string{{"minutes", "an hour"}, {"days", "a week"}, {"months", "a year"}, {"centimetres", "a metre"}, {"grams", "a kilogram"}, {"seconds", "a minute"}, {"millilitres", "a litre"}, {"years", "a century"}}

func genFactualQA(r *rand.Rand, level int) (string, float64) {
	switch level {
	case 0:
		switch r.IntN(5) {
		case 0:
			return fmt.Sprintf("What is the capital of %s?", pick(r, countries)), 0
		case 1:
			return fmt.Sprintf("Who wrote the novel %s?", pick(r, books)), 0.2
		case 2:
			u := pick(r, unitPairs)
			return fmt.Sprintf("How many %s are in %s?", u[0], u[1]), 0
		case 3:
			return fmt.Sprintf("What is the chemical symbol for %s?", pick(r, elements)), 0.2
		default:
			return fmt.Sprintf("What language is mainly spoken in %s?", pick(r, countries)), 0.1
		}
	case 1:
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("In which year did %s?", pick(r, historicalEvents)), 0.3
		case 1:
			return fmt.Sprintf("Who painted %s, and in which century?", pick(r, paintings)), 0.5
		case 2:
			return fmt.Sprintf("What is the longest river in %s, and which countries does it flow through?", pick(r, continents)), 0.6
		default:
			return fmt.Sprintf("Name the author of %s and one other work by the same author.", pick(r, books)), 0.5
		}
	case 2:
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Explain the main causes of %s and name two key figures involved.", pick(r, historyTopics)), 0.5
		case 1:
			return fmt.Sprintf("Describe how %s works, who developed it and when it was first used.", pick(r, technologies)), 0.4
		default:
			return fmt.Sprintf("What were the main consequences of %s for %s? Give concrete examples.", pick(r, historyTopics), pick(r, continents)), 0.6
		}
	default:
		asp := pickN(r, historyAspects, 3)
		if chance(r, 0.5) {
			t := pickN(r, historyTopics, 2)
			return fmt.Sprintf("Compare %s and %s in terms of %s, %s and %s. Cite specific dates and figures, and note where historians still disagree.", t[0], t[1], asp[0], asp[1], asp[2]), 0.6
		}
		return fmt.Sprintf("Give a detailed, well-sourced account of %s, covering %s and %s. Name at least three primary sources with their dates and flag every claim that remains disputed.", pick(r, obscureTopics), asp[0], asp[1]), 0.9
	}
}

// storySentences are the sentences of a reading passage, in story order.
func storySentences(r *rand.Rand) ([]string, map[string]string) {
	ab := pickN(r, firstNames, 2)
	a, b := ab[0], ab[1]
	cs := pickN(r, cities, 2)
	f := map[string]string{
		"A": a, "B": b,
		"home":      cs[0],
		"city":      cs[1],
		"day":       pick(r, weekdays),
		"relative":  pick(r, []string{"aunt", "uncle", "cousin", "godmother", "former teacher", "old flatmate"}),
		"transport": pick(r, []string{"train", "bus", "ferry", "tram"}),
		"reason":    pick(r, []string{"a storm", "a signal failure", "a strike", "heavy snow", "a broken bridge"}),
		"place":     pick(r, []string{"museum", "botanical garden", "old market", "concert hall", "castle"}),
		"reason2":   pick(r, []string{"a water leak", "a private event", "renovation work", "a power cut"}),
		"items":     pick(r, countables),
	}
	n, mins, paid := between(r, 2, 30), 5*between(r, 2, 24), between(r, 12, 80)
	s := []string{
		"", // the first sentence is set below
		fmt.Sprintf("The %s was %d minutes late because of %s.", f["transport"], mins, f["reason"]),
		fmt.Sprintf("On the way, %s met %s, an old friend from school.", a, b),
		fmt.Sprintf("%s was carrying %d %s for a neighbour's party.", b, n, f["items"]),
		fmt.Sprintf("They decided to share a taxi to the %s.", f["place"]),
		fmt.Sprintf("When they arrived, the %s was closed, so they had lunch at a small cafe nearby.", f["place"]),
		fmt.Sprintf("%s paid %d dollars for both meals.", a, paid),
		fmt.Sprintf("Later, %s's %s explained that the %s had closed because of %s.", a, f["relative"], f["place"], f["reason2"]),
		fmt.Sprintf("In the evening, %s took the last %s home, while %s stayed until %s.", b, f["transport"], a, pick(r, weekdays)),
		fmt.Sprintf("%s promised to come back in %s to see the %s properly.", a, pick(r, months), f["place"]),
	}
	art := "a"
	if strings.ContainsRune("aeiou", rune(f["relative"][0])) {
		art = "an"
	}
	s[0] = fmt.Sprintf("%s left %s early on %s to visit %s %s in %s.", a, f["home"], f["day"], art, f["relative"], f["city"])
	return s, f
}

func genReading(r *rand.Rand, level int) (string, float64) {
	s, f := storySentences(r)
	switch level {
	case 0:
		q := pick(r, []string{"Where did %s go?", "Who did %s want to visit?"})
		return fmt.Sprintf("Read the text and answer the question.\n\n%s\n\nQuestion: %s", s[0], fmt.Sprintf(q, f["A"])), 0.2
	case 1:
		n := between(r, 2, 3)
		q := pick(r, []string{"Why was the %s late?", "How late was the %s?"})
		return fmt.Sprintf("Read the passage and answer the question.\n\n%s\n\nQuestion: %s", strings.Join(s[:n], " "), fmt.Sprintf(q, f["transport"])), float64(n - 2)
	case 2:
		n := between(r, 6, 7)
		return fmt.Sprintf("Read the passage carefully.\n\n%s %s\n\nBased on the passage, infer why %s and %s went to the cafe instead of the %s, and explain which sentences support your inference.", s[0], strings.Join(s[2:n], " "), f["A"], f["B"], f["place"]), float64(n - 6)
	default:
		n := between(r, 3, 4)
		return fmt.Sprintf("%s %s %s\n\nAnswer all three questions, quoting the supporting sentence each time: (1) Who travelled together, and how far? (2) What would have happened if the %s had been open? (3) Which details cannot be verified from the text? Reason rigorously.", s[0], s[2], strings.Join(s[4:4+n], " "), f["place"]), float64(n - 3)
	}
}

func genCreative(r *rand.Rand, level int) (string, float64) {
	topic := pick(r, poemTopics)
	switch level {
	case 0:
		return fmt.Sprintf(pick(r, []string{"Write a haiku about %s.", "Write a short poem about %s.", "Write a limerick about %s.", "Write two sentences about %s."}), topic), 0.2
	case 1:
		if chance(r, 0.5) {
			n := 2 * between(r, 2, 8)
			return fmt.Sprintf("Write a %d-line rhyming poem about %s.", n, topic), float64(n) / 16
		}
		w := 50 * between(r, 2, 6)
		return fmt.Sprintf("Write a short story of about %d words about %s who %s.", w, pick(r, characters), pick(r, situations)), float64(w) / 300
	case 2:
		w := 100 * between(r, 3, 10)
		pov := pick(r, []string{"the first person", "the second person", "the third person", "present tense"})
		return fmt.Sprintf("Write a %s story of about %d words about %s who %s. Use %s, include at least one line of dialogue, and end with a twist.", pick(r, genres), w, pick(r, characters), pick(r, situations), pov), float64(w) / 1000
	default:
		word := strings.ToUpper(pick(r, []string{"light", "river", "home", "stone", "dream", "ember", "salt", "north"}))
		cons := []string{
			fmt.Sprintf("exactly %d stanzas", between(r, 3, 7)),
			"every line in iambic pentameter",
			fmt.Sprintf("the first letters of the lines spell '%s'", word),
			"no letter 'e' anywhere in the final stanza",
			fmt.Sprintf("an allusion to %s", pick(r, books)),
			fmt.Sprintf("a consistent %s tone", pick(r, tones)),
			"an internal rhyme in every second line",
		}
		k := between(r, 4, 7)
		cons = pickN(r, cons, k)
		return fmt.Sprintf("Write %s about %s that satisfies all of these constraints: %s. Afterwards, check each constraint rigorously and point out any you violated.", withArticle(pick(r, poeticForms)), topic, strings.Join(cons, "; ")), float64(k-4) / 3
	}
}

// newsSentences are the sentences of a short news report, lead first.
func newsSentences(r *rand.Rand) []string {
	city := pick(r, cities)
	project := pick(r, []string{"a new tram line", "flood defences", "a public library", "a cycling network", "a waste recycling plant", "school renovations", "a harbour expansion"})
	org := pick(r, []string{"transport authority", "regional planning office", "chamber of commerce", "environment agency", "city council"})
	mayor := pick(r, firstNames) + " " + pick(r, surnames)
	spoke := pick(r, firstNames) + " " + pick(r, surnames)
	return []string{
		fmt.Sprintf("The city council of %s approved a budget of %d million dollars for %s on %s.", city, between(r, 3, 900), project, pick(r, weekdays)),
		fmt.Sprintf("Officials said work would begin in %s and take about %d months.", pick(r, months), between(r, 4, 48)),
		fmt.Sprintf("%s, a spokesperson for the %s, said the plan would create %d jobs.", spoke, org, 10*between(r, 3, 250)),
		fmt.Sprintf("Critics argued that the cost had risen by %d percent since the first estimate.", between(r, 5, 120)),
		fmt.Sprintf("A survey of %d residents found that %d percent supported the proposal.", 100*between(r, 3, 40), between(r, 20, 85)),
		fmt.Sprintf("Similar projects in %s were delayed by %s.", pick(r, cities), pick(r, []string{"legal challenges", "supply shortages", "a lack of skilled workers", "disputes over land"})),
		fmt.Sprintf("The mayor, %s, called the vote a turning point for %s.", mayor, city),
		fmt.Sprintf("Funding will come partly from %s.", pick(r, []string{"a national grant", "a new tourist tax", "green bonds", "private investors", "higher parking fees"})),
		fmt.Sprintf("Opposition members said %s had ignored %d formal objections.", mayor, between(r, 12, 400)),
		fmt.Sprintf("The %s will publish a detailed report in %s.", org, pick(r, months)),
		fmt.Sprintf("Local businesses expect visitor numbers to rise by %d percent once the work is finished.", between(r, 2, 40)),
	}
}

func genSummarisation(r *rand.Rand, level int) (string, float64) {
	s := newsSentences(r)
	take := func(n int) string {
		// The lead plus n-1 other sentences in story order.
		idx := r.Perm(len(s) - 1)[:n-1]
		keep := make([]bool, len(s))
		keep[0] = true
		for _, i := range idx {
			keep[i+1] = true
		}
		var out []string
		for i, k := range keep {
			if k {
				out = append(out, s[i])
			}
		}
		return strings.Join(out, " ")
	}
	switch level {
	case 0:
		return fmt.Sprintf("Summarise in one sentence: %s", take(2)), 0
	case 1:
		n := between(r, 2, 3)
		return fmt.Sprintf("Summarise the following paragraph in two sentences.\n\n%s", take(n)), float64(n - 2)
	case 2:
		n := between(r, 3, 4)
		return fmt.Sprintf("Summarise the following article in exactly three bullet points for a busy executive, keeping every number:\n\n%s", take(n)), float64(n - 3)
	default:
		n := between(r, 4, 5)
		return fmt.Sprintf("Write an abstractive summary of at most 50 words of this report. Preserve every figure, attribute each claim to its source, and flag any internal contradictions:\n\n%s", take(n)), float64(n - 4)
	}
}

func genTranslation(r *rand.Rand, level int) (string, float64) {
	name := pick(r, firstNames)
	switch level {
	case 0:
		p := pick(r, shortPhrases)
		if strings.Contains(p, "%s") {
			p = fmt.Sprintf(p, name)
		}
		return fmt.Sprintf(pick(r, []string{"Translate to %s: \"%s\"", "How do you say \"%[2]s\" in %[1]s?"}), pick(r, easyTargetLanguages), p), 0.1
	case 1:
		lang := pick(r, easyTargetLanguages)
		extra := 0.3
		if chance(r, 0.3) {
			lang, extra = pick(r, hardTargetLanguages), 0.8
		}
		sent := pick(r, []string{
			fmt.Sprintf("%s is going to the %s tomorrow to buy %d %s.", name, pick(r, shops), between(r, 2, 12), pick(r, countables)),
			fmt.Sprintf("The %s in %s opens at %d o'clock on %s.", pick(r, shops), pick(r, cities), between(r, 7, 11), pick(r, weekdays)),
			fmt.Sprintf("%s has lived in %s for %d years and still misses the sea.", name, pick(r, cities), between(r, 2, 30)),
		})
		return fmt.Sprintf("Translate the following sentence into %s: \"%s\"", lang, sent), extra
	case 2:
		lang := pick(r, hardTargetLanguages)
		s := newsSentences(r)
		n := between(r, 2, 3)
		return fmt.Sprintf("Translate this paragraph into %s, keeping a formal register and the original numbers: \"%s\"", lang, strings.Join(s[:n], " ")), float64(n-2) / 1
	default:
		lang := pick(r, hardTargetLanguages)
		p := pickN(r, []string{"the Licensor", "the Tenant", "the Contractor", "the Buyer", "the Guarantor"}, 2)
		clause := fmt.Sprintf("Notwithstanding clause %d.%d, %s shall indemnify %s against all losses arising out of or in connection with any breach, save where such losses result from the gross negligence of %s, and time shall be of the essence.", between(r, 2, 19), between(r, 1, 9), p[0], p[1], p[1])
		return fmt.Sprintf("Translate the following legal clause into %s and then back into English, preserving the precise legal meaning and the formal register. Explain every term that has no direct equivalent and any idiom you had to adapt: \"%s\"", lang, clause), 0.5
	}
}

var comparatives = []struct{ more, less, most, least string }{
	{"taller", "shorter", "tallest", "shortest"},
	{"older", "younger", "oldest", "youngest"},
	{"faster", "slower", "fastest", "slowest"},
	{"heavier", "lighter", "heaviest", "lightest"},
}

var syllogisms = [][3]string{
	{"cats", "mammals", "a cat"}, {"bloops", "razzies", "a bloop"}, {"squares", "rectangles", "a square"},
	{"zorks", "glims", "a zork"}, {"roses", "flowers", "a rose"}, {"wugs", "daxes", "a wug"},
	{"violins", "instruments", "a violin"}, {"tavs", "blickets", "a tav"},
}

func genLogic(r *rand.Rand, level int) (string, float64) {
	names := pickN(r, firstNames, 5)
	switch level {
	case 0:
		s := pick(r, syllogisms)
		if chance(r, 0.5) {
			return fmt.Sprintf("All %s are %s. %s is %s. Is %s one of the %s?", s[0], s[1], names[0], s[2], names[0], s[1]), 0
		}
		return fmt.Sprintf("All %s are %s. %s is not one of the %s. Can %s be %s?", s[0], s[1], names[0], s[1], names[0], s[2]), 0.5
	case 1:
		c := pick(r, comparatives)
		q := pick(r, []string{c.most, c.least})
		return fmt.Sprintf("%s is %s than %s, and %s is %s than %s. Who is the %s?", names[0], c.more, names[1], names[2], c.less, names[1], q), 0.3
	case 2:
		if chance(r, 0.5) {
			st := pick(r, []string{
				"%[2]s is a knave.", "%[2]s and I are both knights.", "At least one of us is a knave.", "%[2]s is a knight if and only if I am a knave.",
			})
			st2 := pick(r, []string{"%[1]s is a knave.", "We are the same kind.", "%[1]s tells the truth."})
			return fmt.Sprintf("On an island, knights always tell the truth and knaves always lie. %[1]s says: \"%[3]s\" %[2]s says: \"%[4]s\" What are %[1]s and %[2]s? Explain your reasoning.", names[0], names[1], fmt.Sprintf(st, names[0], names[1]), fmt.Sprintf(st2, names[0], names[1])), 0.4
		}
		return fmt.Sprintf("Four friends, %s, %s, %s and %s, finish a race. %s finished ahead of %s but behind %s. %s was not last. Who finished in each position? Show the deduction step by step.", names[0], names[1], names[2], names[3], names[0], names[1], names[2], names[3]), 0.6
	default:
		k := between(r, 4, 5)
		pets := pickN(r, []string{"cat", "dog", "parrot", "rabbit", "tortoise", "goldfish"}, k)
		cols := pickN(r, []string{"red", "blue", "green", "yellow", "white", "black"}, k)
		ppl := names[:k]
		perm1, perm2 := r.Perm(k), r.Perm(k)
		var clues []string
		for i := 0; i < k+between(r, 0, 2); i++ {
			p := r.IntN(k)
			switch r.IntN(3) {
			case 0:
				clues = append(clues, fmt.Sprintf("%s lives in the %s house.", ppl[p], cols[perm2[p]]))
			case 1:
				clues = append(clues, fmt.Sprintf("%s does not own the %s.", ppl[p], pets[perm1[(p+1)%k]]))
			default:
				clues = append(clues, fmt.Sprintf("The owner of the %s lives in the %s house.", pets[perm1[p]], cols[perm2[p]]))
			}
		}
		return fmt.Sprintf("Solve this logic grid puzzle rigorously. %d people (%s) each own one pet (%s) and live in houses of different colours (%s). Clues: %s Determine who owns which pet and lives where, and prove whether the solution is unique or list every solution.", k, strings.Join(ppl, ", "), strings.Join(pets, ", "), strings.Join(cols, ", "), strings.Join(clues, " ")), float64(len(clues)-k) / 2
	}
}

var easyScience = []struct {
	q, a  string
	wrong []string
}{
	{"Which planet is closest to the Sun?", "Mercury", []string{"Venus", "Mars", "Earth", "Jupiter"}},
	{"What gas do plants absorb from the air for photosynthesis?", "Carbon dioxide", []string{"Oxygen", "Nitrogen", "Helium", "Hydrogen"}},
	{"What is the boiling point of water at sea level?", "100 degrees Celsius", []string{"90 degrees Celsius", "80 degrees Celsius", "120 degrees Celsius", "50 degrees Celsius"}},
	{"Which organ pumps blood around the body?", "The heart", []string{"The liver", "The lungs", "The kidneys", "The stomach"}},
	{"What is the largest planet in the Solar System?", "Jupiter", []string{"Saturn", "Neptune", "Earth", "Uranus"}},
	{"Which state of matter has a fixed shape?", "Solid", []string{"Liquid", "Gas", "Plasma", "Vapour"}},
	{"What force keeps the planets in orbit around the Sun?", "Gravity", []string{"Magnetism", "Friction", "Tension", "Buoyancy"}},
	{"How many bones are in the adult human body?", "206", []string{"186", "212", "250", "300"}},
	{"What is the chemical formula of water?", "H2O", []string{"CO2", "O2", "H2O2", "NaCl"}},
	{"Which part of the cell contains the genetic material?", "The nucleus", []string{"The membrane", "The ribosome", "The cytoplasm", "The vacuole"}},
	{"What type of energy does a moving car have?", "Kinetic energy", []string{"Nuclear energy", "Chemical energy", "Sound energy", "Elastic energy"}},
	{"Which blood cells fight infection?", "White blood cells", []string{"Red blood cells", "Platelets", "Plasma cells only", "Nerve cells"}},
}

var siUnits = []struct {
	q, a  string
	wrong []string
}{
	{"force", "newton", []string{"joule", "watt", "pascal"}},
	{"energy", "joule", []string{"newton", "volt", "watt"}},
	{"power", "watt", []string{"joule", "ampere", "ohm"}},
	{"pressure", "pascal", []string{"newton", "bar", "kelvin"}},
	{"electric current", "ampere", []string{"volt", "ohm", "coulomb"}},
	{"electrical resistance", "ohm", []string{"ampere", "farad", "tesla"}},
	{"frequency", "hertz", []string{"second", "decibel", "watt"}},
	{"temperature", "kelvin", []string{"degree Fahrenheit", "joule", "calorie"}},
	{"electric charge", "coulomb", []string{"ampere", "volt", "weber"}},
}

// mcq formats a question with shuffled options.
func mcq(r *rand.Rand, q, right string, wrong []string) string {
	opts := append([]string{right}, pickN(r, wrong, 3)...)
	r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	var b strings.Builder
	b.WriteString(q)
	for i, o := range opts {
		fmt.Fprintf(&b, " %c) %s", 'A'+i, o)
	}
	return b.String()
}

func num(x float64) string {
	s := fmt.Sprintf("%.3g", x)
	if strings.ContainsAny(s, "e") {
		s = fmt.Sprintf("%.0f", x)
	}
	return s
}

func numericMCQ(r *rand.Rand, q string, ans float64, unit string) string {
	wrong := []string{num(ans*2) + unit, num(ans/2) + unit, num(ans*10) + unit, num(ans+ans/4) + unit, num(ans*0.8) + unit}
	return mcq(r, q, num(ans)+unit, wrong)
}

func genScienceMCQ(r *rand.Rand, level int) (string, float64) {
	switch level {
	case 0:
		e := pick(r, easyScience)
		return mcq(r, e.q, e.a, e.wrong), 0.2
	case 1:
		if chance(r, 0.5) {
			u := pick(r, siUnits)
			return mcq(r, fmt.Sprintf("What is the SI unit of %s?", u.q), u.a, u.wrong), 0.3
		}
		d, t := between(r, 10, 400), between(r, 2, 20)
		return numericMCQ(r, fmt.Sprintf("An object travels %d m in %d s at constant speed. What is its speed?", d*t, t), float64(d), " m/s"), 0.5
	case 2:
		m, a := between(r, 2, 80), between(r, 1, 12)
		extra := float64(m*a) / 960
		switch r.IntN(3) {
		case 0:
			return numericMCQ(r, fmt.Sprintf("A %d kg trolley accelerates at %d m/s^2. What net force acts on it?", m, a), float64(m*a), " N"), extra
		case 1:
			v := between(r, 2, 30)
			return numericMCQ(r, fmt.Sprintf("What is the kinetic energy of a %d kg ball moving at %d m/s?", m, v), 0.5*float64(m*v*v), " J"), extra
		default:
			v, rr := between(r, 3, 240), between(r, 2, 120)
			return numericMCQ(r, fmt.Sprintf("A %d V battery is connected across a %d ohm resistor. What current flows?", v, rr), float64(v)/float64(rr), " A"), extra
		}
	default:
		switch r.IntN(3) {
		case 0:
			p, v, t1, v2, t2 := between(r, 80, 400), between(r, 2, 40), between(r, 250, 400), between(r, 1, 20), between(r, 300, 700)
			ans := float64(p) * float64(v) / float64(v2) * float64(t2) / float64(t1)
			return numericMCQ(r, fmt.Sprintf("An ideal gas at %d kPa and %d K occupies %d L. It is compressed isothermally to %d L and then heated at constant volume to %d K. What is the final pressure? Justify each step of this multi-step calculation.", p, t1, v, v2, t2), ans, " kPa"), float64(t2) / 700
		case 1:
			v, ang := between(r, 10, 60), pick(r, []int{30, 45, 60})
			ans := float64(v*v) * math.Sin(2*float64(ang)*math.Pi/180) / 9.81
			return numericMCQ(r, fmt.Sprintf("A projectile is launched at %d m/s at %d degrees above level ground, ignoring air resistance (g = 9.81 m/s^2). What horizontal distance does it travel before landing? Derive the result step by step.", v, ang), ans, " m"), float64(v) / 60
		default:
			r1, r2, r3, v := between(r, 2, 60), between(r, 2, 60), between(r, 2, 60), between(r, 6, 48)
			par := float64(r2*r3) / float64(r2+r3)
			ans := float64(v) / (float64(r1) + par)
			return numericMCQ(r, fmt.Sprintf("A %d ohm resistor is in series with a parallel pair of %d ohm and %d ohm resistors, across a %d V supply. What current leaves the supply? Show the multi-step reasoning rigorously.", r1, r2, r3, v), ans, " A"), float64(r1+r2+r3) / 180
		}
	}
}

func genExpertAdvice(r *rand.Rand, level int) (string, float64) {
	switch level {
	case 0:
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("Is it safe to take %s with %s?", pick(r, otcDrugs), pick(r, drinks)), 0.2
		case 1:
			return fmt.Sprintf("What can I do at home about a mild %s?", pick(r, ailments)), 0
		default:
			return fmt.Sprintf("Do I need a lawyer to %s?", pick(r, []string{"write a simple will", "return a faulty product", "dispute a parking ticket", "change my name", "register a small business"})), 0.3
		}
	case 1:
		n := between(r, 2, 14)
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("My landlord has not returned my deposit after %d weeks. What are my options in %s?", n, pick(r, jurisdictions)), 0.4
		case 1:
			return fmt.Sprintf("My %s has not improved after %d days. When should I see a doctor?", pick(r, ailments), n), 0.3
		default:
			return fmt.Sprintf("Can my employer %s without notice in %s?", pick(r, []string{"change my shifts", "cut my hours", "move me to another office", "stop paying overtime"}), pick(r, jurisdictions)), 0.5
		}
	case 2:
		if chance(r, 0.5) {
			m := pickN(r, medications, 2)
			return fmt.Sprintf("I am %d years old, have %s and take %s. My doctor suggested adding %s. What interactions or side effects should I watch for, and what questions should I ask at my next appointment?", between(r, 19, 88), pick(r, conditions), m[0], m[1]), 0.5
		}
		return fmt.Sprintf("I signed %s in %s and the other party %s. What remedies may be available to me, and what evidence should I collect first?", withArticle(pick(r, contracts)), pick(r, jurisdictions), pick(r, []string{"stopped paying", "broke the confidentiality terms", "refuses to hand over the keys", "delivered only half of the work"})), 0.5
	default:
		k := between(r, 2, 4)
		if chance(r, 0.5) {
			j := pickN(r, jurisdictions, 2)
			facts := pickN(r, contractFacts, k)
			return fmt.Sprintf("Analyse rigorously whether %s signed in %s is enforceable given that %s. Cite the relevant doctrines, discuss edge cases and counter-arguments, and explain how the outcome could differ in %s.", withArticle(pick(r, contracts)), j[0], strings.Join(facts, "; "), j[1]), float64(k-2) / 2
		}
		c := pickN(r, conditions, k)
		m := pickN(r, medications, k)
		age := between(r, 55, 92)
		return fmt.Sprintf("%s %d-year-old patient has %s and takes %s. Assess every relevant drug interaction and contraindication, rank the risks, explain the edge cases a clinician should watch for, and state what monitoring is needed.", capitalise(articleFor(age)), age, joinAnd(c), joinAnd(m)), float64(k-2) / 2
	}
}

package chrome_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/chrome"
)

func TestZZStats(t *testing.T) {
	var flows, cont, regions, attached, instants, wake, spawn, outs int
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 7))
		p := randomProfile(r)
		o := render.Options{NoGroup: r.IntN(2) == 0}
		var a bytes.Buffer
		chrome.Render(&a, p, o)
		tr, _ := validate(a.Bytes())
		flows += len(tr.Flows)
		for _, f := range tr.Flows {
			if f.Name == "spawn" { spawn++ } else { wake++ }
			if f.S.TS == f.From.Start && strings.Contains(a.String(), "") { attached++ }
		}
		cont += strings.Count(a.String(), `"continued"`)
		regions += strings.Count(a.String(), `"cat":"region","ph":"B"`)
		instants += len(tr.Instants)
		outs += strings.Count(a.String(), "outside the work")
	}
	t.Logf("flows %d (spawn %d wake %d) s-at-slice-start %d continued %d regions %d instants %d outsiders %d", flows, spawn, wake, attached, cont, regions, instants, outs)
}

package text_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
)

// The header says how much of the running time was sampled, what the
// profiler cost, and how the work ended when it panicked; the tree never
// shows unsampled time as a function's own.
func TestHeader(t *testing.T) {
	p := handlerProfile()
	p.SetAttr(profile.AttrPanic, "runtime error: index out of range [3] with length 3")
	p.SetAttr(profile.AttrPanicAt, "main.render /app/main.go:47")
	p.SetAttr(profile.AttrOverhead, "1.5ms")
	var b bytes.Buffer
	if err := text.Render(&b, p, render.Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CPU: 5.80ms (58%; 66% sampled, 34% unsampled)",
		"CPU samples: 3 (one per 4.00ms of running time)",
		"reqprof: 1.50ms before the window",
		"panic: runtime error: index out of range [3] with length 3\n",
		"panic at: main.render /app/main.go:47\n",
		"main.authorize  main.go:31\n      `- 2.00ms  20.0%  [running, unsampled]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "reqprof overhead:") {
		t.Errorf("the overhead attribute is listed raw:\n%s", out)
	}
}

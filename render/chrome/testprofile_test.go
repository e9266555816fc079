package chrome_test

import (
	"testing"

	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// The rendering of testprofile's real capture is a valid trace, in every
// view: internal/browsertest/chrometest opens it in the Speedscope app.
func TestSyntheticRequestIsValid(t *testing.T) {
	p := testprofile.Capture(t)
	for _, k := range view.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			check(t, render1(t, p, render.Options{View: k}))
		})
	}
}

package html_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/html"
)

func TestLargeProfileSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: large profiles")
	}
	for _, c := range testprofile.LargeCases {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Profile()
			if err := p.CheckValid(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var b bytes.Buffer
			if err := html.Render(&b, p, render.Options{}); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d goroutines × %d intervals: %.2f MB page in %v", c.Goroutines, c.Intervals, float64(b.Len())/(1<<20), time.Since(start))
			if b.Len() > testprofile.MaxLargeReport {
				t.Errorf("page of %d bytes, over the bound of %d", b.Len(), testprofile.MaxLargeReport)
			}
			// The page says what it left out.
			if !bytes.Contains(b.Bytes(), []byte("Large profile")) {
				t.Error("the page does not say it was condensed")
			}
		})
	}
}

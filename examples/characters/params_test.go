package characters_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/examples/characters"
)

// Distinctive SQL parameters: an id (in PostgreSQL's integer range, with
// no such character: the SELECT runs, then 404) and a name filter.
const (
	secretID   = "2086421357"
	secretName = "zebra-7731"
)

func TestParametersNeverInProfilesSQLite(t *testing.T) {
	checkNoParameters(t, start(t, characters.Config{}))
}

func TestParametersNeverInProfilesPostgres(t *testing.T) {
	checkNoParameters(t, start(t, characters.Config{DB: pgDSN(t)}))
}

// checkNoParameters profiles requests whose SQL parameters are distinctive
// and checks that no rendering of their profiles, in any format and view,
// holds them. The request's own URL, which the profile keeps as an
// attribute, is the one place they may appear.
func checkNoParameters(t *testing.T, s *server) {
	requests := []struct {
		path, secret, inURL string
		status              int
	}{
		{"/characters/" + secretID + "?profile=true", secretID, "/characters/" + secretID, http.StatusNotFound},
		{"/characters?limit=5&name=" + secretName + "&profile=true", secretName, "name=" + secretName, http.StatusOK},
	}
	for _, r := range requests {
		resp, body := s.get(t, r.path)
		if resp.StatusCode != r.status {
			t.Fatalf("GET %s: %s: %s", r.path, resp.Status, body)
		}

		// The model: every string in it but the URL attribute.
		p := s.loadProfile(t, resp)
		var sqlFrames int
		check := func(what, v string) {
			if strings.Contains(v, r.secret) {
				t.Errorf("GET %s: %s holds the parameter %q: %q", r.path, what, r.secret, v)
			}
		}
		check("name", p.Name)
		for _, a := range p.Attrs {
			check("attribute key", a.Key)
			if a.Key == "url" {
				if !strings.Contains(a.Value, r.inURL) {
					t.Errorf("GET %s: url attribute %q", r.path, a.Value)
				}
				continue
			}
			check("attribute "+a.Key, a.Value)
		}
		for _, f := range p.Frames {
			check("frame", f.Func)
			check("frame file", f.File)
		}
		for _, rg := range p.Regions {
			check("region", rg.Type)
			if strings.HasPrefix(rg.Type, "SQL: SELECT") {
				sqlFrames++
			}
		}
		for _, l := range p.Logs {
			check("log "+l.Category, l.Message)
		}
		for _, w := range p.Warnings {
			check("warning", w)
		}
		if sqlFrames == 0 {
			t.Errorf("GET %s: no SQL: SELECT region; the test checks nothing", r.path)
		}

		// Every format, every view.
		for _, f := range reqprof.Formats() {
			for _, v := range reqprof.Views() {
				out := string(s.fetchProfile(t, resp, f, url.Values{"view": {string(v)}}))
				if strings.Count(out, r.inURL) == 0 && f == reqprof.FormatText {
					t.Errorf("GET %s as %s (%s view): no url line", r.path, f, v)
				}
				if rest := strings.ReplaceAll(out, r.inURL, ""); strings.Contains(rest, r.secret) {
					i := strings.Index(rest, r.secret)
					t.Errorf("GET %s as %s (%s view) holds the parameter %q: …%s…", r.path, f, v, r.secret, rest[max(0, i-80):min(len(rest), i+80)])
				}
			}
		}
	}
}

package reqprof_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/reqprof/reqprof"
)

// FuzzQuery feeds the middleware arbitrary query strings and trigger
// headers: it never panics, runs the handler exactly once unless it
// answers 400 for a bad format, and never lets a sensitive value through
// RedactURL.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{"", "profile=true", "profile=1&profile_format=text", "profile=true&profile_format=svg",
		"profile=true&profile_response=1&profile_format=folded", "token=s3cret&profile=yes", "profile=%zz", "a=1;b=2&profile=on",
		"profile=true&profile=false", "api_key=x&password=y&Session=z"} {
		f.Add(q, "")
	}
	f.Add("x=1", "1")
	mw, err := reqprof.New(reqprof.Options{Enabled: true, Dir: f.TempDir(), MaxConcurrent: 1 << 20, PerMinute: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { mw.Close() })
	calls := 0
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Write([]byte("ok"))
	}))
	f.Fuzz(func(t *testing.T, rawQuery, trigger string) {
		u := &url.URL{Path: "/x", RawQuery: rawQuery}
		req := httptest.NewRequest("GET", "/x", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		req.RemoteAddr = "127.0.0.1:1"
		req.Host = "127.0.0.1:1"
		if trigger != "" {
			req.Header[reqprof.HeaderTrigger] = []string{trigger}
		}
		before := calls
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ran := calls - before; ran != 1 && rec.Code != http.StatusBadRequest {
			t.Fatalf("handler ran %d times, status %d", ran, rec.Code)
		}
		if rec.Code == http.StatusBadRequest && calls != before {
			t.Fatal("handler ran for a rejected request")
		}
		red := reqprof.RedactURL(u)
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		for k, vs := range q {
			lk := strings.ToLower(k)
			if !strings.Contains(lk, "token") && !strings.Contains(lk, "password") && !strings.Contains(lk, "secret") {
				continue
			}
			for _, v := range vs {
				if v != "" && v != "REDACTED" && strings.Contains(red, url.QueryEscape(k)+"="+url.QueryEscape(v)) {
					t.Fatalf("RedactURL(%q) = %q keeps the value of %q", rawQuery, red, k)
				}
			}
		}
	})
}

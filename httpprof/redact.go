package httpprof

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/reqprof/reqprof/internal/tracestr"
)

// Redaction is a best effort: it recognises common names of secret and
// personal query parameters, not secrets themselves. Keep secrets out of
// URLs; name yours in Options.RedactParams.

// sensitiveParts are redacted wherever they appear in a parameter name
// ("access_token", "X-Api-Key", "userPassword").
var sensitiveParts = []string{
	"token", "password", "passwd", "passphrase", "secret", "apikey", "auth", "bearer",
	"session", "signature", "credential", "private", "jwt", "otp", "email", "cookie",
	"card", "iban", "cvv", "ssn",
}

// sensitiveWords are redacted when they are a whole word of the name
// ("sid", "user_pwd", "cc"), not inside another word ("access").
var sensitiveWords = []string{
	"key", "pass", "pwd", "sid", "sig", "code", "pin", "cc", "ccv", "cvc", "dob", "phone", "tel",
}

// redactor redacts URLs with the default names and extra whole-word names.
type redactor struct{ extra []string }

func (rd redactor) sensitive(name string) bool {
	lk := strings.ToLower(name)
	for _, s := range sensitiveParts {
		if strings.Contains(lk, s) {
			return true
		}
	}
	for _, w := range words(name) {
		for _, s := range sensitiveWords {
			if w == s {
				return true
			}
		}
		for _, s := range rd.extra {
			if w == strings.ToLower(s) || lk == strings.ToLower(s) {
				return true
			}
		}
	}
	return false
}

// words splits a parameter name into lower-case words at punctuation and
// at lower-to-upper case changes: "userPwd_hash" is user, pwd, hash.
func words(s string) []string {
	var out []string
	start := -1
	prev := rune(0)
	for i, r := range s {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if start >= 0 && (!alnum || (unicode.IsUpper(r) && unicode.IsLower(prev))) {
			out = append(out, strings.ToLower(s[start:i]))
			start = -1
		}
		if alnum && start < 0 {
			start = i
		}
		prev = r
	}
	if start >= 0 {
		out = append(out, strings.ToLower(s[start:]))
	}
	return out
}

// RedactURL returns u without its profile* parameters and with the values of
// sensitive-looking parameters (token, password, key, session, email, ...)
// replaced by "REDACTED"; user info is dropped. It is a best effort.
func RedactURL(u *url.URL) string { return redactor{}.url(u) }

func (rd redactor) url(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if lk == "profile" || strings.HasPrefix(lk, "profile_") {
			delete(q, k)
			continue
		}
		if rd.sensitive(k) {
			vs := q[k]
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	c.RawQuery = q.Encode()
	c.ForceQuery = false
	return c.RequestURI()
}

// boundTo cuts s to at most n bytes at a rune boundary.
func boundTo(s string, n int) string { return tracestr.BoundTo(s, n) }

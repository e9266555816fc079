package view

import (
	"fmt"
	"strings"
)

// Kind is the kind of a view.
type Kind string

const (
	Critical   Kind = "critical"   // the critical path (default)
	Goroutines Kind = "goroutines" // one timeline per goroutine
	All        Kind = "all"        // all goroutines, nested under their spawn sites
)

// Kinds returns the views, the default first.
func Kinds() []Kind { return []Kind{Critical, Goroutines, All} }

// ParseKind checks a view name given by a user (a flag, a query parameter):
// case and surrounding space do not matter, and "" is the default,
// [Critical]. The error lists the valid names.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if k == "" {
		return Critical, nil
	}
	if k.valid() {
		return k, nil
	}
	names := make([]string, 0, 3)
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown view %q (valid: %s)", s, strings.Join(names, ", "))
}

func (k Kind) valid() bool { return k == Critical || k == Goroutines || k == All }

// check returns k, "" meaning Critical, or ParseKind's error.
func (k Kind) check() (Kind, error) {
	if k == "" || k.valid() {
		return k.orDefault(), nil
	}
	return ParseKind(string(k))
}

func (k Kind) orDefault() Kind {
	if k == "" {
		return Critical
	}
	return k
}

// Title is how people call the view: "critical path", "per goroutine",
// "all goroutines".
func (k Kind) Title() string {
	switch k.orDefault() {
	case Critical:
		return "critical path"
	case Goroutines:
		return "per goroutine"
	case All:
		return "all goroutines"
	}
	return string(k)
}

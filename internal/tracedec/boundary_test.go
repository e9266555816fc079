package tracedec

import "testing"

func TestClosureOf(t *testing.T) {
	for _, tt := range []struct {
		fn, caller string
		want       bool
	}{
		{"example.com/a.(*H).serve.func3", "example.com/a.(*H).serve", true},
		{"example.com/a.Middleware.func1.1", "example.com/a.Middleware.func1", true},
		// The caller was inlined into another function: its closure is
		// named after both.
		{"example.com/a.(*H).serve.runMarked.func1", "example.com/a.runMarked", true},
		{"example.com/a.main.(*H).serve.(*H).inner.func2", "example.com/a.(*H).inner", true},
		// The user's own function, even in the same package.
		{"example.com/a.TestDo.func1", "example.com/a.DoWith", false},
		{"example.com/a.job", "example.com/a.DoWith", false},
		{"example.com/b.serve.func1", "example.com/a.serve", false},
		// A function whose name merely ends like the caller's.
		{"example.com/a.preserve.func1", "example.com/a.serve", false},
	} {
		if got := closureOf(tt.fn, tt.caller); got != tt.want {
			t.Errorf("closureOf(%q, %q) = %v, want %v", tt.fn, tt.caller, got, tt.want)
		}
	}
}

package profile

import "testing"

func TestCodeUser(t *testing.T) {
	const mod = "example.com/app"
	lib := []string{"example.com/prof."}
	tests := []struct {
		name     string
		frames   []Frame // the profile's frames (they tell where the Go root is)
		fn, file string
		want     bool
	}{
		{"a package of the module", nil, "example.com/app/users.Get", "/home/me/app/users/users.go", true},
		{"package main", nil, "main.handler", "/home/me/app/main.go", true},
		{"a test package of the module", nil, "example.com/app_test.TestX", "/home/me/app/x_test.go", true},
		{"another module", nil, "github.com/labstack/echo/v4.(*Echo).ServeHTTP", "/root/go/pkg/mod/github.com/labstack/echo/v4@v4.11.4/echo.go", false},
		{"the profiler", nil, "example.com/prof.Do", "/home/me/prof/do.go", false},
		{"the standard library", nil, "net/http.HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go", false},
		// A library's closure inlined into main is named after main.main,
		// but written in the library's file.
		{"a library closure inlined into main", nil, "main.main.RemoveTrailingSlashWithConfig.func1.1",
			"/root/go/pkg/mod/github.com/labstack/echo/v4@v4.11.4/middleware/slash.go", false},
		{"the same under -trimpath", nil, "main.main.RemoveTrailingSlashWithConfig.func1.1",
			"github.com/labstack/echo/v4@v4.11.4/middleware/slash.go", false},
		{"a vendored library", nil, "github.com/x/y.F", "/home/me/app/vendor/github.com/x/y/y.go", false},
		// The module's own closure inlined into main is user code.
		{"a module closure inlined into main", nil, "main.main.AuthMiddleware.func3", "example.com/app/users/auth.go", true},
		// A standard library closure inlined into main: its file is in
		// the Go root, which the runtime's frames show.
		{"a std closure inlined into main", []Frame{{Func: "runtime.goexit", File: "/opt/go/src/runtime/asm_amd64.s"}},
			"main.handler.OnceFunc.func1", "/opt/go/src/sync/oncefunc.go", false},
		{"a std closure inlined into main, -trimpath", []Frame{{Func: "runtime.main", File: "runtime/proc.go"}},
			"main.handler.OnceFunc.func1", "sync/oncefunc.go", false},
		{"main under -trimpath", []Frame{{Func: "runtime.main", File: "runtime/proc.go"}},
			"main.handler", "example.com/app/main.go", true},
		// A workspace module's package (a demo in one module serving an
		// application of another), on the builder's disk: user code, once
		// the Go root is known; in the module cache, a dependency.
		{"a workspace module's package", []Frame{{Func: "runtime.goexit", File: "/opt/go/src/runtime/asm_amd64.s"}},
			"example.com/other/characters.(*App).get", "/home/me/repo/other/characters/handlers.go", true},
		{"the same module from the module cache", []Frame{{Func: "runtime.goexit", File: "/opt/go/src/runtime/asm_amd64.s"}},
			"example.com/other/characters.(*App).get", "/root/go/pkg/mod/example.com/other@v1.2.0/characters/handlers.go", false},
		{"the profiler, on the builder's disk", []Frame{{Func: "runtime.goexit", File: "/opt/go/src/runtime/asm_amd64.s"}},
			"example.com/prof.Do", "/home/me/prof/do.go", false},
		// No runtime frame: a standard-library frame tells where the Go
		// root is.
		{"a workspace module's package, the Go root from net/http", []Frame{{Func: "net/http.HandlerFunc.ServeHTTP", File: "/opt/go/src/net/http/server.go"}},
			"example.com/other/characters.(*App).get", "/home/me/repo/other/characters/handlers.go", true},
		{"the standard library, the Go root from net/http", []Frame{{Func: "net/http.HandlerFunc.ServeHTTP", File: "/opt/go/src/net/http/server.go"}},
			"encoding/json.Marshal", "/opt/go/src/encoding/json/encode.go", false},
	}
	for _, tt := range tests {
		p := &Profile{Frames: tt.frames, Library: lib, Attrs: []Attr{{ModuleAttr, mod}}}
		if got := p.Code().User(tt.fn, tt.file); got != tt.want {
			t.Errorf("%s: User(%q, %q) = %v, want %v", tt.name, tt.fn, tt.file, got, tt.want)
		}
	}
	// Without the main module, code outside the standard library and
	// golang.org/x is the user's.
	c := NewCode("", nil, nil)
	for fn, want := range map[string]bool{"github.com/me/app.F": true, "golang.org/x/sync/errgroup.(*Group).Go": false, "net/http.Get": false, "main.main": true} {
		if got := c.User(fn, ""); got != want {
			t.Errorf("module unknown: User(%q) = %v, want %v", fn, got, want)
		}
	}
}

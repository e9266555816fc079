package profile

import (
	"path/filepath"
	"strings"
)

// Code tells a profile's user code — the profiled program's own functions
// — from the standard library's, its dependencies' and the profiler's own.
// Make one with [Profile.Code].
//
// A frame is classified by its function's package and by its file, not by
// a prefix of its name alone: a closure of a function inlined into another
// package is named after the function it was inlined into
// ("main.main.RemoveTrailingSlashWithConfig.func1.1"), but its file is the
// one it was written in (echo's middleware/slash.go, in the module cache).
// So:
//
//   - the profiler's own packages ([Profile.Library], see [IsLibrary]) are
//     never user code;
//   - a file in the module cache or a vendor directory (a path element
//     "name@version", ".../pkg/mod/...", ".../vendor/...") or in the Go
//     root (found from the runtime's own frames) is not user code;
//   - a file of the main module (its path begins with the module path, as
//     -trimpath builds record it) is user code, and so, in a build without
//     -trimpath, is any file on the builder's disk outside the Go root and
//     the module cache (the main module's, or a workspace module's, or one
//     replaced by a local directory: a demo in one module serving an
//     application package of another);
//   - otherwise the function's package decides: package main and the
//     packages of the main module ([ModuleAttr]) are user code; when the
//     main module is unknown, so is every package outside the standard
//     library and golang.org/x.
type Code struct {
	module  string
	library []string
	goroot  string // the Go root's "src/" directory, "" when unknown
	trimmed bool   // the binary was built with -trimpath (std files are "net/http/server.go")
}

// Code returns p's code classifier.
func (p *Profile) Code() *Code {
	return NewCode(p.Attr(ModuleAttr), p.Library, p.Frames)
}

// NewCode returns the classifier of the code of a program whose main
// module is module ("" when unknown) and whose profiler packages are
// library; frames, when they include one of the runtime's, tell where the
// Go root is.
func NewCode(module string, library []string, frames []Frame) *Code {
	c := &Code{module: module, library: library}
	if c.module == "command-line-arguments" {
		c.module = ""
	}
	for _, f := range frames {
		if !strings.HasPrefix(f.Func, "runtime.") {
			continue
		}
		if i := strings.LastIndex(f.File, "runtime/"); i >= 0 && !strings.Contains(f.File[i+len("runtime/"):], "/") {
			c.goroot, c.trimmed = f.File[:i], i == 0
			return c
		}
	}
	// No runtime frame: any standard-library frame tells it too, its file
	// being <goroot>/src/<its package's path>/<file>.
	for _, f := range frames {
		pkg := funcPackage(f.Func)
		first, _, _ := strings.Cut(pkg, "/")
		if pkg == "main" || strings.Contains(first, ".") || strings.HasPrefix(f.Func, "main.") ||
			(c.module != "" && (pkg == c.module || strings.HasPrefix(pkg, c.module+"/"))) {
			continue // not the standard library (a module path may have no dot)
		}
		dir := pkg + "/"
		if i := strings.LastIndex(f.File, dir); i >= 0 && (i == 0 || strings.HasSuffix(f.File[:i], "/src/")) && !strings.Contains(f.File[i+len(dir):], "/") {
			c.goroot, c.trimmed = f.File[:i], i == 0
			return c
		}
	}
	return c
}

// User reports whether the function fn, written in file ("" when unknown),
// is user code.
func (c *Code) User(fn, file string) bool {
	if IsLibrary(c.library, fn) {
		return false
	}
	pkg := funcPackage(fn)
	switch c.fileOwner(file) {
	case ownerMain:
		return true
	case ownerLocal:
		// A local file is the program's own unless its function says it
		// is the standard library's (a function of the standard library
		// is written in the Go root; its name decides if its file is
		// elsewhere), or the module's, which has no dot of its own.
		first, _, _ := strings.Cut(pkg, "/")
		if pkg == "main" || strings.HasPrefix(fn, "main.") || strings.Contains(first, ".") {
			return true
		}
	case ownerOther:
		return false
	}
	if pkg == "main" || strings.HasPrefix(fn, "main.") {
		return true
	}
	if c.module != "" {
		rest, ok := strings.CutPrefix(pkg, c.module)
		return ok && (rest == "" || rest[0] == '/' || rest == "_test")
	}
	first, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(pkg, "golang.org/x/")
}

type owner uint8

const (
	ownerUnknown owner = iota
	ownerMain          // a file of the main module
	ownerLocal         // a file on the builder's disk, outside the Go root and the module cache
	ownerOther         // the standard library's or a dependency's
)

// fileOwner says whose a source file is, when its path tells.
func (c *Code) fileOwner(file string) owner {
	if file == "" {
		return ownerUnknown
	}
	if c.module != "" && strings.HasPrefix(file, c.module+"/") {
		return ownerMain // -trimpath: "example.com/app/users/auth.go"
	}
	if strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/") || strings.HasPrefix(file, "vendor/") {
		return ownerOther
	}
	// A module cache directory: "github.com/labstack/echo/v4@v4.11.4/".
	for rest := file; ; {
		i := strings.Index(rest, "@v")
		if i < 0 {
			break
		}
		if j := i + 2; j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			return ownerOther
		}
		rest = rest[i+2:]
	}
	if c.trimmed {
		first, _, _ := strings.Cut(file, "/")
		if !strings.HasPrefix(file, "/") && !strings.Contains(first, ".") && strings.Contains(file, "/") {
			return ownerOther // the standard library under -trimpath: "net/http/server.go"
		}
	} else if c.goroot != "" {
		if strings.HasPrefix(file, c.goroot) {
			return ownerOther
		}
		if filepath.IsAbs(file) {
			// Built without -trimpath, every file outside the Go root and
			// the module cache is a source file on the builder's disk:
			// the main module's, or a module of its workspace (go.work)
			// or replaced by a local directory — the program's own code
			// (the profiler's own packages were told apart above).
			return ownerLocal
		}
	}
	return ownerUnknown
}

// funcPackage returns the import path of a function name
// ("net/http.(*conn).serve" → "net/http").
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

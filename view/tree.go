package view

import (
	"regexp"
	"slices"
	"strings"

	"github.com/reqprof/reqprof/profile"
)

// Node is a node of a call tree. Times are nanoseconds.
type Node struct {
	Frame Frame
	// Total is the time of the node and everything under it; Self the time
	// at the node itself.
	Total, Self int64
	// Inferred is the part of Total that is running time no CPU sample
	// observed (attributed from the stacks at its two ends).
	Inferred int64
	// Count is how many separate stretches of time reached the node: for a
	// wait pseudo-frame, the number of waits.
	Count int
	// Hidden lists the library frames folded into this node by
	// GroupLibrary, outermost first.
	Hidden   []Frame
	Children []*Node

	lastEnd int64
}

// key identifies a node among its siblings: a function by name and file
// (not line: one call tree node per function), a pseudo-frame by its text.
func (f Frame) key() Frame {
	return Frame{Name: f.Name, File: f.File, Kind: f.Kind}
}

// Tree builds the call tree of a timeline's segments under a root node
// named name. With timeOrder, only consecutive segments that share frames are
// merged, so the tree reads in time order; otherwise every call of a
// function at the same place merges into one node (a flame graph): the
// tree of a [StackSet] of the segments.
func Tree(name string, segs []Segment, timeOrder bool) *Node {
	return TreeOfParts(name, timeOrder, segs)
}

// TreeOfParts is [Tree] of the segments of parts one after the other: of
// several goroutines' timelines, without making one slice of them all.
func TreeOfParts(name string, timeOrder bool, parts ...[]Segment) *Node {
	if !timeOrder {
		s := &StackSet{Name: name, Types: []string{"time"}, unlabeled: true}
		s.addSegments(0, parts, nil, false)
		return s.Tree(0)
	}
	root := &Node{Frame: Frame{Name: name, Kind: Func}}
	for _, segs := range parts {
		for _, s := range segs {
			d := s.End - s.Start
			if d <= 0 {
				continue
			}
			n := root
			n.add(d, s)
			for _, f := range s.Path {
				n = n.child(f, timeOrder)
				n.add(d, s)
			}
			n.Self += d
		}
	}
	return root
}

func (n *Node) add(d int64, s Segment) {
	n.Total += d
	if s.Inferred {
		n.Inferred += d
	}
	// A stretch is re-entered when a segment does not continue the last
	// one (one wait cut into pieces by the critical path counts once).
	if n.Count == 0 || s.Start != n.lastEnd {
		n.Count++
	}
	n.lastEnd = s.End
}

func (n *Node) child(f Frame, timeOrder bool) *Node {
	k := f.key()
	if timeOrder {
		if l := len(n.Children); l > 0 && n.Children[l-1].Frame.key() == k {
			return n.Children[l-1]
		}
	} else {
		for _, c := range n.Children {
			if c.Frame.key() == k {
				return c
			}
		}
	}
	c := &Node{Frame: f}
	n.Children = append(n.Children, c)
	return c
}

// SortByTotal orders every node's children by decreasing total time (ties
// by name), for merged trees.
func (n *Node) SortByTotal() {
	slices.SortStableFunc(n.Children, func(a, b *Node) int {
		if a.Total != b.Total {
			if a.Total > b.Total {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Frame.Name, b.Frame.Name)
	})
	for _, c := range n.Children {
		c.SortByTotal()
	}
}

// Walk calls fn for n and every node under it, depth first, with its depth.
func (n *Node) Walk(fn func(n *Node, depth int)) {
	n.walk(fn, 0)
}

func (n *Node) walk(fn func(*Node, int), d int) {
	fn(n, d)
	for _, c := range n.Children {
		c.walk(fn, d+1)
	}
}

// --- transforms ---------------------------------------------------------------

// UserCode decides which function frames are the user's own code; the
// others are library or runtime frames that GroupLibrary folds.
type UserCode func(funcName string) bool

// UserModule treats as user code the functions of module (and its _test
// packages) and of package main. With module "" (unknown), code outside the
// standard library and golang.org/x is the user's. Functions of the
// profiler's own packages (library: a profile's Library prefixes, see
// [profile.IsLibrary]) never are.
func UserModule(module string, library ...string) UserCode {
	return func(fn string) bool {
		if strings.HasPrefix(fn, "main.") {
			return true
		}
		if profile.IsLibrary(library, fn) {
			return false
		}
		if module != "" && module != "command-line-arguments" {
			if rest, ok := strings.CutPrefix(fn, module); ok {
				return strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "_test.")
			}
			return false
		}
		first, _, _ := strings.Cut(Package(fn), "/")
		return strings.Contains(first, ".") && !strings.HasPrefix(fn, "golang.org/x/")
	}
}

// ProfileUserCode returns the user code of profile p: its functions that
// [profile.Code] classifies as user code by their package and file,
// remembered by name; a function p does not have is classified by its name
// as [UserModule] of p's main module does.
func ProfileUserCode(p *profile.Profile) UserCode {
	code := p.Code()
	byName := make(map[string]bool, len(p.Frames))
	for _, f := range p.Frames {
		u := code.User(f.Func, f.File)
		if prev, ok := byName[f.Func]; ok {
			u = u && prev // one function written in two files: library if either says so
		}
		byName[f.Func] = u
		if d := strings.TrimSuffix(f.Func, "-fm"); d != f.Func {
			byName[d] = u
		}
	}
	fallback := UserModule(p.Attr(profile.ModuleAttr), p.Library...)
	return func(fn string) bool {
		if u, ok := byName[fn]; ok {
			return u
		}
		return fallback(fn)
	}
}

// UserRegexp treats as user code the functions whose name matches re.
func UserRegexp(re *regexp.Regexp) UserCode {
	return func(fn string) bool { return re.MatchString(fn) }
}

// Package returns the import path of a function name
// ("net/http.(*conn).serve" → "net/http").
func Package(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// GroupLibrary folds chains of library frames, pyinstrument-style: the
// outermost library frame of a chain stays, the library frames under it are
// hidden (listed in Hidden) and their children are hoisted. A library frame
// identical (function, file and line) to one already on the path above it
// — the http.HandlerFunc.ServeHTTP between each pair of middlewares — is
// hidden too, into the user frame above it. User frames and pseudo-frames
// are never hidden. Totals are unchanged.
func GroupLibrary(n *Node, user UserCode) {
	groupLibrary(n, user, nil)
}

func groupLibrary(n *Node, user UserCode, seen []Frame) {
	for {
		var kept []*Node
		changed := false
		for _, c := range n.Children {
			if c.Frame.Kind == Func && !user(c.Frame.Name) && slices.Contains(seen, c.Frame) {
				n.Hidden = append(n.Hidden, c.Frame)
				n.Hidden = append(n.Hidden, c.Hidden...)
				n.Self += c.Self
				kept = append(kept, c.Children...)
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		if !changed {
			break
		}
		n.Children = mergeSiblings(kept)
	}
	for _, c := range n.Children {
		s := seen
		if c.Frame.Kind == Func && !user(c.Frame.Name) {
			c.fold(user)
			s = append(append(seen[:len(seen):len(seen)], c.Frame), c.Hidden...)
		}
		groupLibrary(c, user, s)
	}
}

// fold hides the library frames directly under n, recursively, merging the
// children they had into n.
func (n *Node) fold(user UserCode) {
	for {
		var kept []*Node
		changed := false
		for _, c := range n.Children {
			if c.Frame.Kind == Func && !user(c.Frame.Name) {
				n.Hidden = append(n.Hidden, c.Frame)
				n.Hidden = append(n.Hidden, c.Hidden...)
				n.Self += c.Self
				kept = append(kept, c.Children...)
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		n.Children = mergeSiblings(kept)
		if !changed {
			return
		}
	}
}

// mergeSiblings merges nodes with the same frame.
func mergeSiblings(ns []*Node) []*Node {
	var out []*Node
	idx := map[Frame]*Node{}
	for _, c := range ns {
		k := c.Frame.key()
		if m, ok := idx[k]; ok {
			m.merge(c)
			continue
		}
		idx[k] = c
		out = append(out, c)
	}
	return out
}

func (n *Node) merge(o *Node) {
	n.Total += o.Total
	n.Self += o.Self
	n.Inferred += o.Inferred
	n.Count += o.Count
	n.Hidden = append(n.Hidden, o.Hidden...)
	n.Children = mergeSiblings(append(n.Children, o.Children...))
}

// Prune removes the nodes whose total is below min nanoseconds; the time
// they held stays in their parent's Total (so a parent's children may sum
// to less than it).
func Prune(n *Node, min int64) {
	n.Children = slices.DeleteFunc(n.Children, func(c *Node) bool { return c.Total < min })
	for _, c := range n.Children {
		Prune(c, min)
	}
}

// GroupPath applies GroupLibrary's folding to one path: library frames that
// directly follow another library frame, or that are identical to a
// library frame earlier in the path, are dropped. Timeline renderers use
// it; the result may share path's backing array only when nothing is
// dropped.
func GroupPath(path []Frame, user UserCode) []Frame {
	var out []Frame
	prevLib := false
	var libs []Frame // the library frames met so far
	for i, f := range path {
		lib := f.Kind == Func && !user(f.Name)
		if lib && (prevLib || slices.Contains(libs, f)) {
			if out == nil {
				out = append(make([]Frame, 0, len(path)), path[:i]...)
			}
			libs = append(libs, f)
			continue
		}
		if lib {
			libs = append(libs, f)
		}
		if out != nil {
			out = append(out, f)
		}
		prevLib = lib
	}
	if out == nil {
		return path
	}
	return out
}

// GroupPaths applies GroupPath to the path of every segment of each of
// segs: segments that share a path share its grouped path, made once.
func GroupPaths(user UserCode, segs ...[]Segment) {
	grouped := map[pathRef][]Frame{}
	for _, ss := range segs {
		for i := range ss {
			s := &ss[i]
			if len(s.Path) == 0 {
				continue
			}
			ref := pathRef{&s.Path[0], len(s.Path)}
			g, ok := grouped[ref]
			if !ok {
				g = GroupPath(s.Path, user)
				grouped[ref] = g
			}
			s.Path = g
		}
	}
}

// ShortNames returns a function that shortens function names as people
// read them: the package path's directories dropped
// ("github.com/x/y/db.(*Conn).Query" → "db.(*Conn).Query"), but kept as far
// as needed to tell apart two packages of fns that end alike (an app's own
// "http" package next to net/http: "app/http.Serve", "net/http.Serve").
// Names not among fns are shortened fully. It costs time linear in the
// length of fns' package paths.
func ShortNames(fns []string) func(fn string) string {
	pkgs := map[string]bool{}
	for _, fn := range fns {
		pkgs[Package(fn)] = true
	}
	// How many packages end with each suffix of whole path elements.
	ends := map[string]int{}
	for pkg := range pkgs {
		for i := len(pkg); i >= 0; i-- {
			if i == 0 || pkg[i-1] == '/' {
				ends[pkg[i:]]++
			}
		}
	}
	short := map[string]string{} // package -> its shortest distinct suffix, when not its last element
	for pkg := range pkgs {
		last := pkg[strings.LastIndexByte(pkg, '/')+1:]
		if ends[last] == 1 {
			continue
		}
		s := pkg
		for i := len(pkg) - len(last) - 1; i >= 0; i-- {
			if i == 0 || pkg[i-1] == '/' {
				if ends[pkg[i:]] == 1 {
					s = pkg[i:]
					break
				}
			}
		}
		short[pkg] = s
	}
	return func(fn string) string {
		pkg := Package(fn)
		if s, ok := short[pkg]; ok {
			return s + fn[len(pkg):]
		}
		if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
			return fn[i+1:]
		}
		return fn
	}
}

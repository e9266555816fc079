package tracedec

import (
	"sort"
	"strings"

	xtrace "golang.org/x/exp/trace"
)

// systemGoroutine reports whether g is one the runtime started for itself
// (a GC worker started by an allocation, say) even if a member created it.
func systemGoroutine(g *gor) bool {
	for f := range g.entryStack.Frames() {
		return strings.HasPrefix(f.Func, "runtime.")
	}
	return false
}

// findMembers finds the work's goroutines: the root, and every goroutine a
// member created during the window, except the runtime's own.
func (b *builder) findMembers() {
	b.members = map[xtrace.GoID]bool{b.tk.g: true}
	b.order = []xtrace.GoID{b.tk.g}
	// Members: created during the window by a member. Creation order is
	// time order, so a parent is always found before its children.
	var created []*gor
	for _, g := range b.t.gs {
		if g.hasCreated && g.created >= b.B && g.created <= b.E && g.id != b.tk.g {
			created = append(created, g)
		}
	}
	sort.Slice(created, func(i, j int) bool {
		if created[i].created != created[j].created {
			return created[i].created < created[j].created
		}
		return created[i].id < created[j].id
	})
	for _, g := range created {
		if b.members[g.parent] && !systemGoroutine(g) {
			b.members[g.id] = true
			b.order = append(b.order, g.id)
		}
	}
}

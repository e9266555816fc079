package top

import (
	"cmp"
	"slices"

	"github.com/reqprof/reqprof/aggregate"
)

func sortWaits(ws []aggregate.WaitStat) {
	slices.SortStableFunc(ws, func(a, b aggregate.WaitStat) int {
		return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(a.Reason, b.Reason))
	})
}

func sortByCum(fs []aggregate.FuncStat) {
	slices.SortStableFunc(fs, func(a, b aggregate.FuncStat) int {
		return cmp.Or(cmp.Compare(b.Cum, a.Cum), cmp.Compare(a.Frame.Name, b.Frame.Name))
	})
}

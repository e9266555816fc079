package cputime

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// Waits returns, for each of the process's threads, how long the kernel
// has kept it waiting for a CPU so far (runnable, not running: the second
// field of /proc/self/task/<tid>/schedstat); ok is false where the system
// cannot tell (anywhere but Linux, or without schedstats). A goroutine
// running on a thread that waits is still running in the execution trace:
// tests that judge a trace's running time ask this whether the machine
// took the CPU away meanwhile.
func Waits() (w map[int]time.Duration, ok bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, false
	}
	w = make(map[int]time.Duration, len(tasks))
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			return nil, false
		}
		ns, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return nil, false
		}
		w[tid] = time.Duration(ns)
	}
	return w, len(w) > 0
}

package capture

import (
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
	"unsafe"
)

// CPU sampling
//
// CPU profile samples reach the execution trace whenever CPU profiling is
// on, by anyone. runtime/pprof profiles at 100 Hz, and asking the runtime
// for another rate before pprof.StartCPUProfile makes the runtime print a
// warning; the kernel honours at most its tick rate anyway (CONFIG_HZ: 250
// samples per CPU-second here, whatever was asked). So, when reqprof owns
// CPU profiling, it takes pprof's CPU profile (so that someone else's
// StartCPUProfile fails cleanly, "cpu profiling already in use", as it
// would with any other profile running), turns the runtime's profiling off
// again once pprof's reader has drained the runtime's buffer — pprof then
// writes its empty profile and waits for StopCPUProfile —, turns it back on
// at cpuRate, and drains the runtime's buffer itself until it stops. When
// it stops, its reader sees the end of the buffer (the runtime then
// releases it) before pprof.StopCPUProfile, so that a later
// StartCPUProfile by anyone works as if reqprof had never run.

// cpuRate is the CPU profiling rate asked of the runtime when reqprof owns
// CPU profiling: the kernel delivers min(cpuRate, its tick rate).
const cpuRate = 1000

// nominalPeriod is the running time a sample is taken to stand for before
// a trace has enough samples to measure it: a 250 Hz kernel tick (the
// common Linux CONFIG_HZ) when reqprof samples, runtime/pprof's 100 Hz when
// someone else does.
const (
	nominalOwnPeriod   = 4 * time.Millisecond
	nominalOtherPeriod = 10 * time.Millisecond
)

// readProfile is the runtime's reader of its CPU profile buffer, which it
// provides to runtime/pprof (runtime.runtime_pprof_readProfile, kept for
// outside users: go.dev/issue/67401). Only one goroutine reads at a time:
// pprof's until it has seen the end of the buffer, then reqprof's.
//
//go:linkname readProfile runtime/pprof.readProfile
func readProfile() (data []uint64, tags []unsafe.Pointer, eof bool)

// cpuSampler runs CPU profiling for a manager. Its methods are called with
// the manager's lock held.
type cpuSampler struct {
	raised chan struct{} // closed when raise is done
	fast   bool          // raise turned profiling back on at cpuRate
	read   chan struct{} // closed when the reader has seen the end of the buffer
}

// firstWrite is the writer given to pprof.StartCPUProfile: pprof writes its
// profile only once it has read the runtime's buffer to the end.
type firstWrite struct {
	once sync.Once
	done chan struct{}
}

func (w *firstWrite) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.done) })
	return len(b), nil
}

// raiseWait bounds how long start waits for the rate to be raised: the
// switch needs pprof's reader to run (about a millisecond on an idle
// machine, more on a loaded one), and the capture's work waits meanwhile;
// past it, the switch completes in the background, and the work has no
// samples until then.
const raiseWait = 5 * time.Millisecond

// start turns CPU profiling on, unless someone else has it on (their
// samples reach the trace too); it reports whether it did. It returns once
// the rate is raised (at most raiseWait later): the capture about to begin
// has samples from its start.
func (s *cpuSampler) start() bool {
	w := &firstWrite{done: make(chan struct{})}
	if pprof.StartCPUProfile(w) != nil {
		return false
	}
	s.raised, s.fast = make(chan struct{}), false
	go s.raise(w)
	t := time.NewTimer(raiseWait)
	defer t.Stop()
	select {
	case <-s.raised:
	case <-t.C:
	}
	return true
}

// raise switches the runtime's profiling from pprof's rate to cpuRate,
// in the background: pprof's reader must first drain the buffer.
func (s *cpuSampler) raise(w *firstWrite) {
	defer close(s.raised)
	runtime.SetCPUProfileRate(0)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		// pprof's reader never finished: leave profiling off rather than
		// risk two readers of the runtime's buffer.
		return
	}
	s.read = make(chan struct{})
	runtime.SetCPUProfileRate(cpuRate)
	s.fast = true
	go drain(s.read)
}

// drain reads the runtime's CPU profile buffer to its end, discarding it:
// the samples that matter are in the execution trace.
func drain(done chan<- struct{}) {
	defer close(done)
	for {
		if _, _, eof := readProfile(); eof {
			return
		}
	}
}

// stop turns CPU profiling off after start.
func (s *cpuSampler) stop() {
	<-s.raised
	if s.fast {
		runtime.SetCPUProfileRate(0)
		<-s.read
		s.fast = false
	}
	pprof.StopCPUProfile()
}

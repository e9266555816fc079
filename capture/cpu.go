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

// cpuSampler runs CPU profiling for a manager. Its start and stop are
// called with the manager's lock held.
type cpuSampler struct {
	raised chan struct{} // closed when raise is done
	owned  bool          // raise took pprof's CPU profile (set before raised is closed)
	fast   bool          // raise turned profiling back on at cpuRate
	read   chan struct{} // closed when the reader has seen the end of the buffer
	stuck  bool          // pprof's reader did not finish in time (see raise)
	timer  *time.Timer   // runs raise after start's delay
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

// raiseWait bounds how long [Manager.Start] waits for CPU sampling's
// start: the switch needs pprof's reader to run (about a millisecond on
// an idle machine, more on a loaded one), and the capture's work waits
// meanwhile; past it, the switch completes in the background, and the
// work has no samples until then.
const raiseWait = 5 * time.Millisecond

// start turns CPU profiling on in the background, unless someone else has
// it on (their samples reach the trace too), and returns at once; done
// says when the switch is done. It takes 2–4 ms on a 2-core machine
// (pprof.StartCPUProfile and the runtime's rate change each allocate a
// megabyte of sample buffer, and pprof's reader must write its empty
// profile in between), more than the flight recorder's own start. Work
// that does not wait for it has no samples for its first milliseconds,
// whose running time is attributed from the trace's stacks (the sample
// period is measured from the first sample on, see tracedec).
// [cpuSampler.owned] says, once the switch is done, whether reqprof took
// the samples.
//
// The switch begins after delay: its milliseconds of CPU, on a small
// machine, would slow down the work that has just begun (×1.3 for a 1 ms
// request on 2 cores), and work shorter than the delay, most of which
// would get no sample anyway, ends before it (if the recorder then stops,
// the switch is cancelled; if it lingers, the switch runs for the next
// captures).
func (s *cpuSampler) start(delay time.Duration) {
	s.raised, s.owned, s.fast, s.read, s.stuck, s.timer = make(chan struct{}), false, false, nil, false, nil
	if delay <= 0 {
		go s.raise()
		return
	}
	s.timer = time.AfterFunc(delay, s.raise)
}

// cpuStartDelay is the delay of CPU sampling's start for work that does
// not wait for it ([Manager.StartNow]); a variable for tests.
var cpuStartDelay = 3 * time.Millisecond

// raise takes pprof's CPU profile and switches the runtime's profiling
// from pprof's rate to cpuRate: pprof's reader must first drain the
// buffer.
func (s *cpuSampler) raise() {
	defer close(s.raised)
	w := &firstWrite{done: make(chan struct{})}
	if pprof.StartCPUProfile(w) != nil {
		return
	}
	s.owned = true
	runtime.SetCPUProfileRate(0)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		// pprof's reader has not finished: leave profiling off rather
		// than risk two readers of the runtime's buffer (stop does not
		// wait for it either).
		s.stuck = true
		return
	}
	s.read = make(chan struct{})
	runtime.SetCPUProfileRate(cpuRate)
	s.fast = true
	go drain(s.read)
}

// done returns the channel closed once the last start's switch is done
// (or cancelled); owned may be read after it is closed, until the next
// start (which waits for the manager's last reference to go, so a holder
// of one may read it).
func (s *cpuSampler) done() <-chan struct{} { return s.raised }

// cancel cancels a switch that has not begun (start's delay has not
// passed), and reports whether it did: sampling then never starts, and
// owned stays false.
func (s *cpuSampler) cancel() bool {
	if s.timer == nil || !s.timer.Stop() {
		return false
	}
	close(s.raised)
	return true
}

// now begins at once a switch that start's delay still holds back.
func (s *cpuSampler) now() {
	if s.timer != nil && s.timer.Stop() {
		go s.raise()
	}
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

// stop turns CPU profiling off after start, once start's switch is done.
func (s *cpuSampler) stop() {
	if s.cancel() {
		return
	}
	<-s.raised
	if !s.owned {
		return
	}
	if s.stuck {
		// StopCPUProfile waits for pprof's reader: not here, with the
		// manager's lock held.
		go pprof.StopCPUProfile()
		return
	}
	if s.fast {
		runtime.SetCPUProfileRate(0)
		<-s.read
		s.fast = false
	}
	pprof.StopCPUProfile()
}

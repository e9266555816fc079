package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/internal/cputime"
)

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	d, ok := cputime.Thread()
	if !ok {
		panic("no thread CPU clock")
	}
	return d
}

// TestCPUSampling checks reqprof's own CPU sampling, in a child process
// (the runtime prints its warnings on the process's standard error, and no
// other test's CPU profile must be running): more samples per CPU-second
// than runtime/pprof's 100, no runtime warning, someone else's
// pprof.StartCPUProfile refused cleanly while reqprof samples and working
// afterwards, and reqprof sampling again after that.
func TestCPUSampling(t *testing.T) {
	if os.Getenv("REQPROF_CPU_CHILD") == "1" {
		cpuChild(t)
		return
	}
	if testing.Short() {
		t.Skip("burns a second of CPU in a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPUSampling$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "REQPROF_CPU_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if bytes.Contains(out, []byte("runtime:")) {
		t.Errorf("the runtime printed a warning")
	}
	_, rest, ok := bytes.Cut(out, []byte("samples per CPU-second: "))
	if !ok {
		t.Fatal("the child did not report its rate")
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	rate, err := strconv.ParseFloat(strings.TrimSpace(string(line)), 64)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel honours up to its tick rate (CONFIG_HZ: 250 here, often
	// 1000); runtime/pprof asks for 100. 130 leaves room for the samples
	// a loaded machine loses (a thread descheduled at its tick) while
	// still telling the raised rate from pprof's.
	if rate < 130 {
		t.Errorf("%.0f samples per CPU-second, want more than runtime/pprof's 100", rate)
	}
}

func cpuChild(t *testing.T) {
	m := capture.NewManager(capture.Config{})
	for round := range 2 {
		ctx, c, err := m.Start(context.Background(), "hash")
		if err != nil {
			t.Fatal(err)
		}
		var cpu time.Duration
		var busy error
		capture.Run(ctx, func(context.Context) error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU()
			capture.BurnCPU(500 * time.Millisecond)
			cpu = threadCPU() - t0
			// CPU sampling starts in the background, within milliseconds
			// of the capture's start: by now reqprof holds pprof's CPU
			// profile.
			busy = pprof.StartCPUProfile(&bytes.Buffer{})
			return nil
		})
		p, err := c.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if busy == nil {
			pprof.StopCPUProfile()
			t.Fatal("pprof.StartCPUProfile succeeded while reqprof was sampling")
		}
		n := 0
		for _, s := range p.Samples {
			if s.Goroutine == p.Goroutines[0].ID {
				n++
			}
		}
		fmt.Printf("round %d: %d samples in %v of CPU, sample period %v\n", round, n, cpu, time.Duration(p.SamplePeriod))
		if round == 0 {
			fmt.Printf("samples per CPU-second: %.0f\n", float64(n)/cpu.Seconds())
		}
		// Someone else's CPU profile, afterwards.
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Fatalf("pprof.StartCPUProfile after reqprof: %v", err)
		}
		runtime.LockOSThread()
		capture.BurnCPU(200 * time.Millisecond)
		runtime.UnlockOSThread()
		pprof.StopCPUProfile()
		pp, err := pprofile.Parse(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var samples int64
		for _, s := range pp.Sample {
			samples += s.Value[0]
		}
		if samples == 0 || pp.Period != int64(10*time.Millisecond) {
			t.Fatalf("the later CPU profile has %d samples, period %d", samples, pp.Period)
		}
	}
}

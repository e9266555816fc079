package capture_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/view"
)

// A bcrypt-like key setup, in pure Go: a Feistel cipher (blowfish's shape)
// whose S-boxes come from SHA-256, run over and over. Almost all of its
// time is in encryptBlock, called from two lines of expandKey.
type cipherState struct {
	p [18]uint32
	s [4][256]uint32
}

func newCipherState() *cipherState {
	c := &cipherState{}
	var seed [32]byte
	for i := range c.s {
		for j := 0; j < 256; j += 8 {
			seed = sha256.Sum256(seed[:])
			for k := range 8 {
				c.s[i][j+k] = binary.LittleEndian.Uint32(seed[4*k:])
			}
		}
	}
	for i := range c.p {
		c.p[i] = c.s[3][i]
	}
	return c
}

//go:noinline
func encryptBlock(c *cipherState, l, r uint32) (uint32, uint32) {
	for round := range 16 {
		l ^= c.p[round]
		r ^= ((c.s[0][l>>24] + c.s[1][l>>16&0xff]) ^ c.s[2][l>>8&0xff]) + c.s[3][l&0xff]
		l, r = r, l
	}
	return r ^ c.p[17], l ^ c.p[16]
}

//go:noinline
func expandKey(c *cipherState, key []byte) {
	var l, r uint32
	for i := range c.p {
		c.p[i] ^= uint32(key[i%len(key)])
	}
	for i := 0; i < len(c.p); i += 2 {
		l, r = encryptBlock(c, l, r)
		c.p[i], c.p[i+1] = l, r
	}
	for i := range c.s {
		for j := 0; j < 256; j += 2 {
			l, r = encryptBlock(c, l^uint32(key[j%len(key)]), r)
			c.s[i][j], c.s[i][j+1] = l, r
		}
	}
}

var keySink uint32

// expensiveSetup runs the key setup rounds times.
//
//go:noinline
func expensiveSetup(rounds int) {
	c := newCipherState()
	key, salt := []byte("correct horse battery staple"), []byte("saltsaltsaltsalt")
	for range rounds {
		expandKey(c, key)
		expandKey(c, salt)
	}
	keySink += c.p[0]
}

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

// setupRounds returns how many rounds of expensiveSetup take about d of
// CPU time on this machine, measured on the calling thread (the work
// itself then makes no system call to look at the time).
func setupRounds(d time.Duration) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The thread's CPU time moves by the kernel's ticks (4ms here): d/8
	// is many of them.
	n := 0
	start := threadCPU()
	for threadCPU()-start < d/8 {
		expensiveSetup(1)
		n++
	}
	return int(int64(n) * int64(d) / int64(threadCPU()-start))
}

// TestCPUAgreesWithPprof runs ≥300ms of CPU-bound work while runtime/pprof
// profiles the CPU (reqprof then takes the same samples from the trace)
// and checks that reqprof's flat CPU per function agrees with pprof's for
// the top function.
func TestCPUAgreesWithPprof(t *testing.T) {
	if testing.Short() {
		t.Skip("burns half a second of CPU")
	}
	if raceEnabled {
		// Under the race detector pprof itself got 5–12 samples of the
		// work here (about 40 expected from 400 ms of CPU at 100 Hz), in
		// runs of this code and of the code before it: too few to
		// compare. CI runs -race with -short, which skips this anyway.
		t.Skip("pprof takes too few samples under the race detector")
	}
	rounds := setupRounds(400 * time.Millisecond)
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("CPU profiling is in use: %v", err)
	}
	m := capture.NewManager(capture.Config{})
	ctx, c, err := m.Start(context.Background(), "bcrypt")
	if err != nil {
		pprof.StopCPUProfile()
		t.Fatal(err)
	}
	capture.Run(ctx, func(context.Context) error { expensiveSetup(rounds); return nil })
	p, err := c.Stop()
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}

	// pprof's flat CPU per function, over the samples of this work.
	pp, err := pprofile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ppFlat := map[string]int64{}
	var ppTotal int64
	for _, s := range pp.Sample {
		var fns []string
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				fns = append(fns, l.Function.Name)
			}
		}
		if !slices.ContainsFunc(fns, func(fn string) bool { return strings.HasSuffix(fn, ".expensiveSetup") }) {
			continue // another goroutine's
		}
		// A sample taken while the goroutine was being preempted has the
		// preemption's frames at its leaf (many, on a loaded machine,
		// where the profiling and preemption signals arrive together
		// when the thread gets a CPU back): reqprof drops them and gives
		// the sample to the function that was preempted; so does this
		// count (pprof -hide=runtime.asyncPreempt).
		for len(fns) > 1 && strings.HasPrefix(fns[0], "runtime.asyncPreempt") {
			fns = fns[1:]
		}
		ppFlat[fns[0]] += s.Value[0]
		ppTotal += s.Value[0]
	}
	// reqprof's: the sampled running time by the function at its leaf
	// ("[self]"), over all the sampled running time — what the samples
	// say, as pprof's flat does —, and over all the running time, the
	// unsampled time included (it is under "[running, unsampled]").
	rpFlat := map[string]int64{}
	var rpSampled, rpTotal int64
	for _, s := range view.CriticalPath(p).Segments {
		if s.State != profile.Running {
			continue
		}
		d := s.End - s.Start
		rpTotal += d
		if n := len(s.Path); !s.Inferred && n > 0 && s.Path[n-1].Kind == view.Func {
			rpFlat[s.Path[n-1].Name] += d
			rpSampled += d
		}
	}
	top, topN := "", int64(0)
	for fn, n := range ppFlat {
		if n > topN {
			top, topN = fn, n
		}
	}
	if ppTotal < 10 || top == "" {
		t.Fatalf("pprof has %d samples of the work", ppTotal)
	}
	ppShare := float64(topN) / float64(ppTotal)
	rpShare := float64(rpFlat[top]) / float64(rpSampled)
	t.Logf("top function %s: pprof %.1f%% flat (%d samples); reqprof %.1f%% of the sampled running time (%.1f%% of all of it, %v; %.0f%% sampled)",
		top, 100*ppShare, ppTotal, 100*rpShare, 100*float64(rpFlat[top])/float64(rpTotal), time.Duration(rpTotal), 100*float64(rpSampled)/float64(rpTotal))
	if !strings.HasSuffix(top, ".encryptBlock") {
		t.Errorf("pprof's top function is %s, want encryptBlock", top)
	}
	// The two see the same samples: pprof gives each one period, reqprof
	// the running time around it, at most half a period each side. They
	// differ by how much running time each sample's neighbourhood holds
	// (samples are irregular in trace time when threads wait for a CPU):
	// the bound, 10 points.
	if diff := rpShare - ppShare; diff > 0.10 || diff < -0.10 {
		t.Errorf("reqprof gives %s %.1f%% of the sampled time, pprof %.1f%% flat: more than 10 points apart", top, 100*rpShare, 100*ppShare)
	}
}

// hashRounds is how many rounds of hashRequest take about 2ms of CPU here
// (set by TestShortHandlerAttributed).
var hashRounds int

// hashRequest is the named function of the short handler: about 2ms of
// CPU.
//
//go:noinline
func hashRequest() [32]byte {
	var sum [32]byte
	for range hashRounds {
		sum = sha256.Sum256(sum[:])
	}
	return sum
}

// shortHandler is a net/http handler that calls hashRequest and writes its
// result.
func shortHandler(w http.ResponseWriter, r *http.Request) {
	sum := hashRequest()
	fmt.Fprintf(w, "%x\n", sum)
}

// TestShortHandlerAttributed profiles short requests (≈2ms of CPU in a
// named function called by a net/http handler, behind a mux and the
// middleware): the handler, or the function, has at least 80% of the
// work's running time on the critical path, sampled or not, and no
// framework frame holds time that no sample saw (the adapters' rule,
// adaptertest.CheckAttributedRequest: a request whose miss a stray CPU
// sample in the router, or the machine's taking the CPU away, explains is
// made again).
func TestShortHandlerAttributed(t *testing.T) {
	func() {
		// The thread's CPU time moves by the kernel's ticks (4ms here):
		// measure over at least 50ms of it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		hashRounds = 1000
		n, start := 0, threadCPU()
		for threadCPU()-start < 50*time.Millisecond {
			hashRequest()
			n++
		}
		hashRounds = int(int64(n*hashRounds) * int64(2*time.Millisecond) / int64(threadCPU()-start))
	}()
	profiles := make(chan *profile.Profile, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hash", shortHandler)
	// Its own manager, which lingers after each profile: Close ends that,
	// so that the package's next tests can start a recorder.
	pr, err := httpprof.New(httpprof.Options{
		Enabled: true, Dir: t.TempDir(), UIPath: "-", PerMinute: 1000,
		Manager:   capture.NewManager(capture.Config{}),
		OnProfile: func(r serve.Result) { profiles <- r.Profile },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	srv := httptest.NewServer(pr.Wrap(mux))
	defer srv.Close()
	// A first request through the server pays the framework's one-time
	// set-up (lazy initialisations in net/http and the middleware: the
	// framework's own time, a millisecond or so): warm it up unprofiled.
	if resp, err := http.Get(srv.URL + "/hash"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			adaptertest.CheckAttributedRequest(t, func() *profile.Profile {
				resp, err := http.Get(srv.URL + "/hash?profile=true")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				select {
				case p := <-profiles:
					if p == nil {
						t.Fatal("no profile made")
					}
					return p
				case <-time.After(30 * time.Second):
					t.Fatal("no profile")
				}
				return nil
			}, ".shortHandler", ".hashRequest")
		})
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// parentEnv is what every child shares: the binary, a temporary
// directory, the demo's seeded database and the mixed handler's
// dependency, served here.
type parentEnv struct {
	ctx     context.Context
	exe     string
	tmp     string
	db      string
	dep     string
	depSrv  *http.Server
	o       options
	spawned int
}

func newParentEnv(ctx context.Context, o options) (*parentEnv, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "reqprof-overhead-")
	if err != nil {
		return nil, err
	}
	e := &parentEnv{ctx: ctx, exe: exe, tmp: tmp, o: o}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.close()
		return nil, err
	}
	e.depSrv = &http.Server{Handler: dependencyHandler(), ReadHeaderTimeout: 10 * time.Second}
	go e.depSrv.Serve(ln)
	e.dep = "http://" + ln.Addr().String() + "/dep"
	if slices.Contains(o.handlers, "characters") || (o.isolated && slices.Contains(o.isoH, "characters")) {
		e.db = filepath.Join(tmp, "characters.db")
		if err := seedCharacters(e.db, tmp); err != nil {
			e.close()
			return nil, fmt.Errorf("seeding the demo's database: %w", err)
		}
	}
	if o.profiles != "" {
		if err := os.MkdirAll(o.profiles, 0o755); err != nil {
			e.close()
			return nil, err
		}
	}
	return e, nil
}

func (e *parentEnv) close() {
	if e.depSrv != nil {
		e.depSrv.Close()
	}
	os.RemoveAll(e.tmp)
}

// childProc is a running child.
type childProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string
	exited  chan error
	base    string
	control *http.Client
	tag     string
	maxLife time.Duration
}

// spawn starts a child serving handler in mode and waits until it
// listens.
func (e *parentEnv) spawn(handler, mode, tag string, edit func(*childConfig)) (*childProc, error) {
	e.spawned++
	dir := filepath.Join(e.tmp, fmt.Sprintf("child-%d", e.spawned))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := childConfig{Handler: handler, Mode: mode, DB: e.db, Dep: e.dep, Tmp: dir, Slow: e.o.slow, MaxLife: e.o.maxLife, Profiles: e.o.profiles, Tag: tag}
	if edit != nil {
		edit(&cfg)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &childProc{cmd: cmd, stdin: stdin, lines: make(chan string, 4), exited: make(chan error, 1), tag: tag, maxLife: cfg.MaxLife,
		control: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.exited <- cmd.Wait()
	}()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return nil, fmt.Errorf("child %s exited before listening: %v", tag, <-p.exited)
		}
		u, found := strings.CutPrefix(l, "ready ")
		if !found {
			p.kill()
			return nil, fmt.Errorf("child %s: unexpected %q", tag, l)
		}
		p.base = u
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, fmt.Errorf("child %s did not start in 2 minutes", tag)
	case <-e.ctx.Done():
		p.kill()
		return nil, e.ctx.Err()
	}
	return p, nil
}

// stop closes the child's standard input and returns its last stats, after
// it stopped its profiler (reqprof stores the profiles still pending).
func (p *childProc) stop() (finalStats, error) {
	p.stdin.Close()
	var final finalStats
	// Stopping reqprof waits for the profiles still to be extracted, which
	// can be many after a back-to-back load: bounded by the child's life.
	timeout := time.After(p.maxLife + 10*time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				err := <-p.exited
				if final.Drain == 0 && err == nil {
					err = errors.New("no final stats")
				}
				if err != nil {
					return final, fmt.Errorf("child %s: %w", p.tag, err)
				}
				return final, nil
			}
			if js, found := strings.CutPrefix(l, "done "); found {
				if err := json.Unmarshal([]byte(js), &final); err != nil {
					return final, fmt.Errorf("child %s: %w", p.tag, err)
				}
			}
		case <-timeout:
			p.kill()
			return final, fmt.Errorf("child %s did not stop in %s", p.tag, p.maxLife)
		}
	}
}

// kill ends the child at once (on errors).
func (p *childProc) kill() {
	p.cmd.Process.Kill()
}

type finalStats struct {
	stats
	Drain time.Duration `json:"drain"`
}

func (p *childProc) get(path string, v any) error {
	resp, err := p.control.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

func (p *childProc) stats() (stats, error) {
	var s stats
	err := p.get("/bench/stats", &s)
	return s, err
}

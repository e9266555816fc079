package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
)

func TestNewCmdDemo(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    Options
		wantErr string
	}{
		{name: "defaults", args: "", want: Options{Addr: "127.0.0.1:8080", JSON: "std"}},
		{
			name: "all flags",
			args: "--addr 0.0.0.0:9000 --db file:/tmp/x.db --json fast --dir /tmp/profiles",
			want: Options{Addr: "0.0.0.0:9000", DB: "file:/tmp/x.db", JSON: "fast", Dir: "/tmp/profiles"},
		},
		{name: "equals", args: "--json=fast --db=postgres://u@h/db", want: Options{Addr: "127.0.0.1:8080", DB: "postgres://u@h/db", JSON: "fast"}},
		{name: "bad json", args: "--json xml", wantErr: `invalid value "xml" for --json: want one of std, fast`},
		{name: "empty json", args: "--json=", wantErr: `invalid value "" for --json`},
		{name: "bad addr", args: "--addr 8080", wantErr: `invalid value "8080" for --addr: want HOST:PORT`},
		{name: "argument", args: "extra", wantErr: `unknown command "extra"`},
		{name: "unknown flag", args: "--port 1", wantErr: "unknown flag: --port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *Options
			cmd := NewCmdDemo(f, func(o *Options) error {
				got = o
				return nil
			})
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			_, err := cmd.ExecuteC()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if got != nil {
					t.Error("the command ran despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Addr != tt.want.Addr || got.DB != tt.want.DB || got.JSON != tt.want.JSON || got.Dir != tt.want.Dir {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
			if got.IO != ios || got.Context == nil {
				t.Errorf("IO or Context not set: %+v", *got)
			}
		})
	}
}

func TestNewCmdDemoFlagErrorType(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	cmd := NewCmdDemo(&cmdutil.Factory{IOStreams: ios}, func(*Options) error { return nil })
	cmd.SetArgs([]string{"--json", "yaml"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	var fe *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &fe) {
		t.Errorf("error %v (%T) is not a FlagError", err, err)
	}
}

// TestDemoRun runs the demo on a fresh directory, as on a fresh machine,
// and checks what it prints, that it serves a profiled request, and that
// cancelling its context (Ctrl-C) stops it gracefully.
func TestDemoRun(t *testing.T) {
	dir := t.TempDir()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &Options{
		IO:      &cmdutil.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut},
		Context: ctx,
		Addr:    "127.0.0.1:0",
		DB:      "file:" + filepath.Join(dir, "demo.db"),
		JSON:    "fast",
		Dir:     filepath.Join(dir, "profiles"),
	}
	done := make(chan error, 1)
	go func() { done <- demoRun(opts) }()

	listening := regexp.MustCompile(`Listening on (http://127\.0\.0\.1:\d+)/`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s%s", err, out, errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s%s", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		"seeded 1000 characters",
		"JSON      github.com/goccy/go-json",
		"profiles  " + opts.Dir,
		"Profiles:   " + base + "/debug/reqprof/",
		"curl -i '" + base + "/characters/42?profile=true'",
		"Ctrl-C",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	resp, err := http.Get(base + "/characters/42?profile=true")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"views":1`) {
		t.Errorf("GET /characters/42: %s %s", resp.Status, body)
	}
	profile := resp.Header.Get("Reqprof-Url")
	if profile == "" {
		t.Fatalf("not profiled: %v", resp.Header)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
	if !strings.Contains(out.String(), "Stopped.") {
		t.Errorf("output lacks Stopped.:\n%s", out)
	}
	// The log names the profile's URL, and the profile was stored before
	// the demo stopped.
	if want := base + profile + "?format=text"; !strings.Contains(errOut.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, errOut)
	}
	id := profile[strings.LastIndexByte(profile, '/')+1:]
	if m, _ := filepath.Glob(filepath.Join(opts.Dir, id+"*")); len(m) == 0 {
		t.Errorf("profile %s not stored in %s", id, opts.Dir)
	}
}

func TestDemoRunBadDatabase(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	err := demoRun(&Options{IO: ios, Context: context.Background(), Addr: "127.0.0.1:0", DB: "mysql://localhost/x", JSON: "std", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("error %v", err)
	}
}

func TestDemoRunBadAddress(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	// An address that cannot be bound: a port out of range.
	err := demoRun(&Options{IO: ios, Context: context.Background(), Addr: "127.0.0.1:99999", DB: "file:" + filepath.Join(t.TempDir(), "b.db"), JSON: "std", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "99999") {
		t.Errorf("error %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

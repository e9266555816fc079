package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args       string
		status     int
		out, inErr string
	}{
		{args: "--version", status: 0, out: "reqprof test-version\n"},
		{args: "--help", status: 0, out: "demo        Run a demo API with profiling on"},
		{args: "", status: 0, out: "Usage:\n  reqprof [command]"},
		{args: "help demo", status: 0, out: "reqprof demo [flags]"},
		{args: "demo --json xml", status: 2, inErr: "reqprof: invalid value \"xml\" for --json: want one of std, fast\nRun 'reqprof demo --help' for usage.\n"},
		{args: "demo --nope", status: 2, inErr: "unknown flag: --nope"},
		{args: "nope", status: 2, inErr: "unknown command \"nope\""},
		{args: "demo --db mysql://x --addr 127.0.0.1:0", status: 1, inErr: "reqprof: characters: unsupported database"},
		// Usage mistakes exit 2, failures 1, both with one line.
		{args: "diff only-one", status: 2, inErr: "reqprof: want BEFORE and AFTER, got 1 arguments (quote glob patterns)\nRun 'reqprof diff --help' for usage.\n"},
		{args: "extract --task 1 --all x trace.out", status: 2, inErr: "select one thing"},
		{args: "record -n 0 http://127.0.0.1:1/", status: 2, inErr: "invalid value 0 for -n"},
		{args: "view --addr 10.0.0.1:80 x", status: 2, inErr: "loopback addresses only"},
		{args: "convert missing.reqprof", status: 1, inErr: "reqprof: missing.reqprof: no such file\n"},
		{args: "top missing", status: 1, inErr: "reqprof: missing: no such file or directory\n"},
		{args: "extract missing.out", status: 1, inErr: "reqprof: missing.out: no such file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, out, errOut := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios, Version: "test-version"}
			if strings.Contains(tt.args, "--db") {
				t.Setenv("TMPDIR", t.TempDir()) // the default profile directory
			}
			status := run(context.Background(), f, strings.Fields(tt.args))
			if status != tt.status {
				t.Errorf("status %d, want %d\nout: %s\nerr: %s", status, tt.status, out, errOut)
			}
			if tt.out != "" && !strings.Contains(out.String(), tt.out) {
				t.Errorf("output lacks %q:\n%s", tt.out, out)
			}
			if tt.inErr != "" && !strings.Contains(errOut.String(), tt.inErr) {
				t.Errorf("errors lack %q:\n%s", tt.inErr, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	if v := version(); !strings.Contains(v, "go1.") {
		t.Errorf("version %q lacks the Go version", v)
	}
}

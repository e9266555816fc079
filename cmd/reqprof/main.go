// Command reqprof is the per-request profiler's command line: start with
// `reqprof demo`.
package main

import (
	"os"

	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli"
)

func main() { os.Exit(cli.Main()) }

//go:build !unix

package main

import "time"

// processCPU is unknown here: the CPU columns say so.
func processCPU() (time.Duration, bool) { return 0, false }

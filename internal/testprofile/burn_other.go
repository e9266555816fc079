//go:build !linux

package testprofile

import "time"

// burn computes for d of wall time (no per-thread CPU clock here).
func burn(d time.Duration) int { return spin(d) }

//go:build !unix

package cputime

import "time"

// Process returns false: the system cannot tell here.
func Process() (time.Duration, bool) { return 0, false }

// Thread returns false: the system cannot tell here.
func Thread() (time.Duration, bool) { return 0, false }

//go:build !unix

package hostile_test

import "time"

// cpuTime is unknown here: the bound applies to wall time.
func cpuTime() time.Duration { return 0 }

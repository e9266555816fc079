//go:build !linux

package store

import "os"

// recycling says whether this system can tell that no one else has a file
// open, which writing a retired profile's file again requires: here it
// cannot, and retired profiles are deleted.
const recycling = false

func exclusive(*os.File) (ok, unsupported bool, size int64) { return false, true, 0 }

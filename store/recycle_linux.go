package store

import (
	"os"
	"syscall"
)

// recycling says whether this system can tell that no one else has a file
// open, which writing a retired profile's file again requires.
const recycling = true

// exclusive reports whether f is open nowhere else, in this process or
// another: a write lease (fcntl F_SETLEASE) is granted only on a file
// that no other open file description refers to. The lease is released
// at once (held, it would have the kernel signal the process, SIGIO, when
// someone opens the file): the file's name is hidden by then, so nobody
// opens it after. It reports unsupported when the file system (or the
// system's settings) grants no leases, and the file's size.
func exclusive(f *os.File) (ok, unsupported bool, size int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, true, 0
	}
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		if _, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETLEASE, syscall.F_WRLCK); errno == 0 {
			syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETLEASE, syscall.F_UNLCK)
		}
	})
	switch errno {
	case 0:
	case syscall.EAGAIN, syscall.EBUSY: // open elsewhere
		return false, false, 0
	default:
		return false, true, 0
	}
	// A file with another name (a hard link) is someone else's too.
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, false, 0
	}
	st, isStat := fi.Sys().(*syscall.Stat_t)
	return isStat && st.Nlink == 1, false, fi.Size()
}

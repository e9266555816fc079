//go:build !unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// notPrivate says why a directory is not private to the user, or "". On
// systems without Unix permissions, the user's own cache and temporary
// directories are taken as private.
func notPrivate(fs.FileInfo) string { return "" }

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

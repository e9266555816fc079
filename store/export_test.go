package store

import "os"

// Counters of the file system work the index saves.
func MetaReads() int64   { return metaReads.Load() }
func DirScans() int64    { return dirScans.Load() }
func FileCreates() int64 { return fileCreates.Load() }

// SetWriteFile replaces how files are written, to simulate failures.
func SetWriteFile(f func(*os.File, []byte) error) (restore func()) {
	old := writeFile
	writeFile = f
	return func() { writeFile = old }
}

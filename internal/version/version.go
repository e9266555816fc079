// Package version holds reqprof's version: the one place it is set, read by
// the files reqprof writes (Speedscope's "exporter"), the root package's
// Version and the command line's --version.
package version

// Version is reqprof's version.
const Version = "0.1.0"

// Producer names reqprof and its version, as files say who wrote them.
const Producer = "reqprof " + Version

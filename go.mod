module github.com/reqprof/reqprof

go 1.25.0

require (
	github.com/google/pprof v0.0.0-20260902005441-ca85771921e4
	golang.org/x/exp v0.0.0-20260813180055-c1d0aacb2297
)

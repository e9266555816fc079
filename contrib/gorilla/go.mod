module github.com/reqprof/reqprof/contrib/gorilla

go 1.25.0

require (
	github.com/gorilla/mux v1.8.1
	github.com/reqprof/reqprof v0.0.0-00010101000000-000000000000
)

require (
	github.com/google/pprof v0.0.0-20260902005441-ca85771921e4 // indirect
	golang.org/x/exp v0.0.0-20260813180055-c1d0aacb2297 // indirect
)

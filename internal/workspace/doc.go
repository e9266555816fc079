// Package workspace has two tests. One runs the tests of the repository's
// other modules (those listed in go.work beside the root module), so that
// `go test ./...` at the root tests the whole repository, as the README
// promises. The other, under CI or with REQPROF_BENCH_SMOKE=1, runs every
// benchmark of every module once. Outside a checkout with a go.work (the
// module cache, GOWORK=off) they skip.
package workspace

// Package workspace has one test: it runs the tests of the repository's
// other modules (those listed in go.work beside the root module), so that
// `go test ./...` at the root tests the whole repository, as the README
// promises. Outside a checkout with a go.work (the module cache, GOWORK=off)
// it skips.
package workspace

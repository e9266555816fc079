package httpprof_test

import "os"

// exampleDir is a fresh directory for an example's profiles.
func exampleDir() string {
	d, err := os.MkdirTemp("", "reqprof-example-")
	if err != nil {
		panic(err)
	}
	return d
}

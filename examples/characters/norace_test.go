//go:build !race

package characters_test

const raceEnabled = false

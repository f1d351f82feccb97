//go:build !race

package deliver_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false

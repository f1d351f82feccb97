//go:build race

package filter

// raceEnabled is set under the race detector, whose sync.Pool drops items
// at random: regexp then allocates machines, so allocation counts are not
// meaningful.
const raceEnabled = true

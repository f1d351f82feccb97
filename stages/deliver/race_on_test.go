//go:build race

package deliver_test

// raceEnabled: the race detector makes each webhook request about ten
// times as expensive, so load tests scale down (and say so).
const raceEnabled = true

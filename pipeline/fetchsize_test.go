package pipeline

import "testing"

// TestFetchSizeFollowsTheInflightBounds checks the fetch sizes the client
// is given: the configured ones at the defaults, and a quarter of the
// in-flight bounds when those are tight (a regression: with a 16 MiB fetch
// and a 16 MiB in-flight bound, deliver's dead-endpoint test held two
// decompressed responses beside its in-flight records, up to 119 MiB).
func TestFetchSizeFollowsTheInflightBounds(t *testing.T) {
	def := DefaultRuntimeConfig()
	tight := def
	tight.MaxInflightBytes = 16 << 20
	tight.PartitionMaxBytes = 4 << 20
	tiny := def
	tiny.MaxInflightBytes = 1 << 10
	tiny.PartitionMaxBytes = 1 << 10
	for _, tc := range []struct {
		name                  string
		cfg                   RuntimeConfig
		fetch, partition, min int32
	}{
		{"defaults", def, 16 << 20, 4 << 20, 256 << 10},
		{"tight in-flight bounds", tight, 4 << 20, 1 << 20, 256 << 10},
		{"smallest bounds", tiny, 1 << 10, 1 << 10, 1 << 10},
	} {
		// The broker waits for fetch_min_bytes, never for more than a
		// whole response.
		if got := tc.cfg.fetchMinBytes(); got != tc.min {
			t.Errorf("%s: fetch min bytes %d, want %d", tc.name, got, tc.min)
		}
		if got := tc.cfg.fetchMaxBytes(); got != tc.fetch {
			t.Errorf("%s: fetch max bytes %d, want %d", tc.name, got, tc.fetch)
		}
		if got := tc.cfg.fetchMaxPartitionBytes(); got != tc.partition {
			t.Errorf("%s: fetch max partition bytes %d, want %d", tc.name, got, tc.partition)
		}
	}
}

package evaluate

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
)

// missCache remembers, for segments that test only company fields
// (filter.Filter.ReadsOnlyCompany), the leads whose company did not match,
// with a hash of the company's JSON as the change carried it. Such a
// segment's result changes only with the company, so a later change of
// the lead with the same company JSON cannot match either, and is not
// decoded for it: most changes are of leads outside the segment. Entries
// are per automation and control version (a changed segment is a new
// version). Bounded: when full it starts over. A key collision (about
// 2^-128 per pair) with the same company hash would skip a match.
type missCache struct {
	mu   sync.Mutex
	max  int
	m    map[[2]uint64]uint64
	seed [2]maphash.Seed
}

func newMissCache(max int) *missCache {
	return &missCache{max: max, m: make(map[[2]uint64]uint64), seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// enabled reports whether the cache keeps anything.
func (c *missCache) enabled() bool { return c.max > 0 }

// companyHash is the hash of a company's JSON (never 0).
func (c *missCache) companyHash(raw []byte) uint64 { return maphash.Bytes(c.seed[0], raw) | 1 }

func (c *missCache) key(ru *rule, leadKey string) [2]uint64 {
	var k [2]uint64
	for i, seed := range c.seed {
		var h maphash.Hash
		h.SetSeed(seed)
		var v [8]byte
		binary.LittleEndian.PutUint64(v[:], ru.version)
		h.Write(v[:])
		h.WriteString(ru.auto.ID)
		h.WriteByte(0)
		h.WriteString(leadKey)
		k[i] = h.Sum64()
	}
	return k
}

// missed reports whether ru's segment did not match the lead's company
// with this company hash.
func (c *missCache) missed(ru *rule, leadKey string, company uint64) bool {
	k := c.key(ru, leadKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k] == company
}

// put remembers that ru's segment did not match the lead's company.
func (c *missCache) put(ru *rule, leadKey string, company uint64) {
	if c.max == 0 {
		return
	}
	k := c.key(ru, leadKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = company
}

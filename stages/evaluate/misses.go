package evaluate

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/leadflow/leadflow/pipeline/cache"
)

// missCache remembers, for segments that test only company fields
// (filter.Filter.ReadsOnlyCompany), the leads whose company did not match,
// with a hash of the company's JSON as the change carried it. Such a
// segment's result changes only with the company, so a later change of
// the lead with the same company JSON cannot match either, and is not
// decoded for it: most changes are of leads outside the segment. Entries
// are per automation and control version (a changed segment is a new
// version). Bounded by miss_cache_size entries, those not used lately
// evicted (pipeline/cache "evaluate_miss", CLOCK). A key collision (about
// 2^-128 per pair) with the same company hash would skip a match.
type missCache struct {
	c    *cache.Cache[[2]uint64, uint64]
	seed [2]maphash.Seed
}

func newMissCache(size int, m *cache.Metrics) (*missCache, error) {
	c, err := cache.New[[2]uint64, uint64](size, m)
	if err != nil {
		return nil, err
	}
	return &missCache{c: c, seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}, nil
}

// enabled reports whether the cache keeps anything.
func (c *missCache) enabled() bool { return c.c.Size() > 0 }

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
	v, ok := c.c.Get(c.key(ru, leadKey))
	return ok && v == company
}

// put remembers that ru's segment did not match the lead's company.
func (c *missCache) put(ru *rule, leadKey string, company uint64) {
	if c.enabled() {
		c.c.Add(c.key(ru, leadKey), company)
	}
}

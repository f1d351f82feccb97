package leads

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// entry is one lead known to a partition's cache: its state as in Redis
// (plus the effect of the current batch while it runs) and what the next
// write needs to know.
type entry struct {
	key    string // the lead key, workspace|domain
	keyB   []byte // key as the output records' key (shared, never modified)
	ws     string
	domain string
	rkey   string // the Redis key

	// st is the state; nil while the lead is not known to exist in Redis
	// (a new lead gets a genesis state with its id before it is applied).
	st *leadState
	// isNew says st is a lead that has never been written: its first
	// write also writes the genesis head (the pre-image of its first hit).
	isNew bool
	// heads are the field references of the heads stored in Redis, by
	// slot (gen mod replayHeads); dropped are stray fields found at load
	// that the next write deletes (its own deletions are added to it).
	heads   [replayHeads]headRefs
	dropped []string
	// pruned are the sessions whose claims the next write drops
	// (loaded.pruned).
	pruned []leadstore.ClaimSession
	// head is the stored bytes of st's current head (its generation
	// st.gen), which the next write stores as a delta against the new
	// head (delta.go); written is the new head while the write is on,
	// writtenDelta the delta it turns head into. older are the stored
	// deltas of the (up to) two heads before head, newest first, which
	// the next write stores again after them (headsField).
	head, written, writtenDelta []byte
	older                       [][]byte
	// legacyHeads says the heads were read from a field each (h0 .. h3):
	// once written to headsField, the next write deletes those fields.
	legacyHeads bool
	// company is the company by reference (schemas.Company.AppendRefJSON),
	// encoded once.
	company []byte
	// changeSize is the size of the lead's last change, to size the next.
	changeSize int
	// weight is the entry's estimated heap (approxBytes) as its cache
	// last counted it.
	weight int64
	// synced is when the state was last read from or written to Redis.
	synced time.Time
	// ttlSet is when this process last set the key's TTL (zero: unknown,
	// set it with the next write); ttlKept says the current write left
	// it as it is.
	ttlSet  time.Time
	ttlKept bool

	// pres are the previous heads, newest first, kept after a load while
	// the lead's records may still be replays (see replay.go); shadow is
	// the state being rebuilt from one of them.
	pres   []*leadState
	shadow *leadState
	// bad is set when the stored state cannot be used; the lead's hits
	// are dead-lettered and the entry is not cached.
	bad error

	// batch is the id of the batch that last touched the entry; dirty
	// says that batch changed it.
	batch uint64
	dirty bool
}

// sessRef names the fields of one session of a written head: s<seq> and
// the pageviews p<seq>.<from> .. p<seq>.<to-1>.
type sessRef struct{ seq, from, to uint64 }

// cacheName names the lead cache in leadflow_cache_lookups_total and
// leadflow_cache_evictions_total (pipeline/cache); every partition's
// cache counts there. A lookup is every get, also a lead's second in one
// batch (leadflow_leads_cache_lookups_total counts leads per batch).
const cacheName = "leads_lead"

// newCacheMetrics creates and registers the lead cache's metrics on reg
// (nil: not registered).
func newCacheMetrics(reg prometheus.Registerer) (*cache.Metrics, error) {
	m, err := cache.NewMetrics(reg, cacheName)
	if err != nil {
		return nil, fmt.Errorf("leads: %w", err)
	}
	return m, nil
}

// partCache is the cache of one partition's leads, least recently used
// first out (pipeline/cache.LRU). Only the goroutine processing the
// partition uses it (Process is never concurrent for one partition); the
// stage drops it whole when the partition is revoked, so a lead's cached
// state never outlives its owner. It grows while a batch runs and is
// trimmed to its bound after the batch, so no entry the batch holds is
// evicted under it.
type partCache struct {
	l        *cache.LRU[string, *entry]
	max      atomic.Int64 // entries
	maxBytes atomic.Int64 // estimated heap of the entries
	bytes    int64        // the entries' weights, as last counted
	totals   *cacheTotals // the stage's, for the cache gauges

	batch uint64 // counts batches
	work  work   // per-batch scratch, reused
}

// cacheTotals are the entries and their estimated heap in all of a
// stage's partition caches (leadflow_leads_cache_entries and _bytes).
type cacheTotals struct{ entries, bytes atomic.Int64 }

func newPartCache(totals *cacheTotals, m *cache.Metrics) *partCache {
	return &partCache{l: cache.NewLRU[string, *entry](m), totals: totals}
}

// get returns the cached entry of key, marking it used, or nil.
func (pc *partCache) get(key []byte) *entry {
	// The lookup keeps no reference to the key, so the record's bytes are
	// not copied into a string for it (a per-record allocation).
	e, _ := pc.l.Get(unsafe.String(unsafe.SliceData(key), len(key)))
	return e
}

// peek returns the cached entry of key without marking it used, or nil.
func (pc *partCache) peek(key string) *entry {
	e, _ := pc.l.Peek(key)
	return e
}

func (pc *partCache) add(e *entry) {
	if old := pc.peek(e.key); old != nil {
		pc.l.Remove(e.key)
		pc.forget(old)
	}
	pc.l.Add(e.key, e)
	pc.totals.entries.Add(1)
	pc.reweigh(e)
}

func (pc *partCache) remove(e *entry) {
	if pc.peek(e.key) != e {
		return
	}
	pc.l.Remove(e.key)
	pc.forget(e)
}

// forget takes an entry that left the LRU out of the counts.
func (pc *partCache) forget(e *entry) {
	pc.totals.entries.Add(-1)
	pc.totals.bytes.Add(-e.weight)
	pc.bytes -= e.weight
	e.weight = 0
}

// reweigh counts e's current estimated heap in the cache's bytes.
func (pc *partCache) reweigh(e *entry) {
	w := e.approxBytes()
	pc.bytes += w - e.weight
	pc.totals.bytes.Add(w - e.weight)
	e.weight = w
}

// trim evicts least recently used entries until both bounds hold. The
// entries the batch touched are weighed again first (their states grew).
func (pc *partCache) trim(touched []*entry) {
	for _, e := range touched {
		if pc.peek(e.key) == e {
			pc.reweigh(e)
		}
	}
	for pc.l.Len() > 0 && (int64(pc.l.Len()) > pc.max.Load() || pc.bytes > pc.maxBytes.Load()) {
		_, e, _ := pc.l.RemoveOldest()
		pc.forget(e)
	}
}

// clear drops every entry (the partition was revoked).
func (pc *partCache) clear() {
	pc.totals.entries.Add(-int64(pc.l.Len()))
	pc.totals.bytes.Add(-pc.bytes)
	pc.l.Purge()
	pc.bytes = 0
}

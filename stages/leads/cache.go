package leads

import (
	"sync/atomic"
	"time"
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
	// company is the company's lead JSON, encoded once.
	company []byte
	// changeSize is the size of the lead's last change, to size the next.
	changeSize int
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

	prev, next *entry // LRU list, most recently used after the sentinel
}

// sessRef names the fields of one session of a written head: s<seq> and
// the pageviews p<seq>.<from> .. p<seq>.<to-1>.
type sessRef struct{ seq, from, to uint64 }

// partCache is the cache of one partition's leads. Only the goroutine
// processing the partition uses it (Process is never concurrent for one
// partition); the stage drops it whole when the partition is revoked, so
// a lead's cached state never outlives its owner.
type partCache struct {
	m    map[string]*entry
	lru  entry // sentinel: lru.next is the most recently used
	max  atomic.Int64
	size *atomic.Int64 // the stage's total, for the cache gauge

	batch uint64 // counts batches
	work  work   // per-batch scratch, reused
}

func newPartCache(total *atomic.Int64) *partCache {
	pc := &partCache{m: make(map[string]*entry), size: total}
	pc.lru.next, pc.lru.prev = &pc.lru, &pc.lru
	return pc
}

// get returns the cached entry of key, marking it used, or nil.
func (pc *partCache) get(key []byte) *entry {
	e := pc.m[string(key)]
	if e != nil {
		pc.unlink(e)
		pc.pushFront(e)
	}
	return e
}

func (pc *partCache) add(e *entry) {
	pc.m[e.key] = e
	pc.pushFront(e)
	pc.size.Add(1)
}

func (pc *partCache) remove(e *entry) {
	if pc.m[e.key] != e {
		return
	}
	delete(pc.m, e.key)
	pc.unlink(e)
	pc.size.Add(-1)
}

// trim evicts least recently used entries down to the cache's bound.
func (pc *partCache) trim() {
	for limit := int(pc.max.Load()); len(pc.m) > limit; {
		pc.remove(pc.lru.prev)
	}
}

// clear drops every entry (the partition was revoked).
func (pc *partCache) clear() {
	pc.size.Add(-int64(len(pc.m)))
	clear(pc.m)
	pc.lru.next, pc.lru.prev = &pc.lru, &pc.lru
}

func (pc *partCache) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (pc *partCache) pushFront(e *entry) {
	e.prev, e.next = &pc.lru, pc.lru.next
	pc.lru.next.prev = e
	pc.lru.next = e
}

// Package ipdb reads the IP database of the enrich stage: a MaxMind DB
// (.mmdb) file that maps networks to a network type, a company domain and
// the visitors' geolocation, in the record layout of
// dataset.IPRecord. The file is memory-mapped and reloaded without a
// restart when it is replaced on disk.
//
// # Reloading and the memory map
//
// A loaded file is a generation: a maxminddb.Reader (whose data is the
// memory-mapped file) and a cache of the records decoded from it, keyed by
// the record's offset in the file (offsets mean nothing in another file,
// so each generation has its own cache). Lookups go through a Snapshot,
// which holds a reference to one generation: DB.Acquire takes one,
// Snapshot.Release gives it back. The DB itself holds one reference to
// the current generation.
//
// DB.Reload stats the file; when its identity (device and inode), size or
// modification time changed, it opens the new file, swaps the current
// generation (an atomic pointer, so new Acquires see the new file at once)
// and drops the DB's reference to the old one. The old generation is
// closed, and its memory unmapped, by whoever releases its last reference:
// never while a Snapshot can still read it. Acquire runs Reload itself at
// most once per Options.CheckInterval, so no goroutine is needed.
//
// Replace the file by writing a new file and renaming it over the old
// path. Rewriting the file in place changes the bytes under the memory
// map of the running generation, which the MaxMind DB reader does not
// survive (wrong answers, or a crash on a truncated file).
package ipdb

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// ErrClosed is returned by Acquire and Reload after Close.
var ErrClosed = errors.New("ipdb: database is closed")

// ErrBadRecord is wrapped by Lookup errors about a record that does not
// decode into the expected layout.
var ErrBadRecord = errors.New("ipdb: bad record")

// DefaultCacheSize is Options.CacheSize when it is not set.
const DefaultCacheSize = 65536

// Network is what the database says about the network of an address.
// Networks are shared between lookups: treat them as read-only.
type Network struct {
	// Type is one of the schemas.Network* constants, or the database's own
	// value for types leadflow does not know. A record with no type but a
	// company domain is a business network.
	Type string
	// Domain is the company owning the network, lower case; "" for
	// non-business networks.
	Domain string
	// Location is where the network's visitors are; nil when the record has
	// no geolocation.
	Location *schemas.Location
}

// Options configure Open.
type Options struct {
	// CheckInterval is how often Acquire stats the file for a replacement.
	// Zero never checks (call Reload to check).
	CheckInterval time.Duration
	// CacheSize is how many decoded records each loaded file keeps, by
	// record (a record is shared by every address of its network). Default
	// (<= 0) DefaultCacheSize.
	CacheSize int
	// CacheMetrics counts the lookups and evictions of the decoded-record
	// caches (one per loaded file). Default: not counted.
	CacheMetrics *cache.Metrics
	// Logger logs reloads and bad records. Default: no logging.
	Logger *zap.Logger
	// OnReload, if set, is called after every reload attempt that found a
	// changed file, with the new file's metadata or the error that kept the
	// old file in use. It runs on the goroutine that called Acquire or
	// Reload and must be quick.
	OnReload func(meta *maxminddb.Metadata, err error)
}

// DB is an IP database file, reloaded when it is replaced. It is safe for
// concurrent use.
type DB struct {
	path string
	opts Options
	log  *zap.Logger

	cur       atomic.Pointer[generation]
	nextCheck atomic.Int64 // unix nanoseconds

	mu         sync.Mutex // serialises Reload and Close
	closed     bool
	failedInfo os.FileInfo // the last file that failed to load, not retried until it changes
	failedErr  error
}

// Open memory-maps the database at path.
func Open(path string, opts Options) (*DB, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	d := &DB{path: path, opts: opts, log: log.With(zap.String("ip_database", path))}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ipdb: %w", err)
	}
	g, err := d.load(fi)
	if err != nil {
		return nil, err
	}
	d.cur.Store(g)
	d.nextCheck.Store(time.Now().Add(opts.CheckInterval).UnixNano())
	return d, nil
}

// Path returns the database's file name.
func (d *DB) Path() string { return d.path }

// Metadata returns the metadata of the file in use, or nil after Close.
func (d *DB) Metadata() *maxminddb.Metadata {
	g := d.cur.Load()
	if g == nil {
		return nil
	}
	return &g.reader.Metadata // set at open, never written after: safe after close too
}

// Acquire returns a Snapshot of the file in use, first reloading the file
// if it changed and Options.CheckInterval has passed since the last check.
// The caller must Release the snapshot, soon: the file it reads stays
// mapped until then.
func (d *DB) Acquire() (Snapshot, error) {
	if iv := d.opts.CheckInterval; iv > 0 {
		now := time.Now().UnixNano()
		if next := d.nextCheck.Load(); now >= next && d.nextCheck.CompareAndSwap(next, now+int64(iv)) {
			_, _ = d.Reload() // logged and reported through OnReload; the old file stays in use
		}
	}
	for {
		g := d.cur.Load()
		if g == nil {
			return Snapshot{}, ErrClosed
		}
		if g.acquire() {
			return Snapshot{g: g}, nil
		}
		// g was retired and released between Load and acquire: cur now
		// holds its successor.
	}
}

// Reload loads the file again if it was replaced (its device and inode,
// size or modification time changed) and reports whether it did. On error
// the file in use stays in use; a file that failed to load is not tried
// again until it changes.
func (d *DB) Reload() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false, ErrClosed
	}
	fi, err := os.Stat(d.path)
	if err != nil {
		err = fmt.Errorf("ipdb: %w", err)
		if d.failedErr == nil || d.failedErr.Error() != err.Error() {
			d.log.Warn("IP database file cannot be read; keeping the loaded one", zap.Error(err))
			d.report(nil, err)
		}
		d.failedInfo, d.failedErr = nil, err
		return false, err
	}
	old := d.cur.Load()
	if sameFile(old.info, fi) {
		d.failedInfo, d.failedErr = nil, nil
		return false, nil
	}
	if d.failedInfo != nil && sameFile(d.failedInfo, fi) {
		return false, d.failedErr
	}
	g, err := d.load(fi)
	if err != nil {
		d.failedInfo, d.failedErr = fi, err
		d.log.Error("IP database replacement does not load; keeping the loaded one", zap.Error(err))
		d.report(nil, err)
		return false, err
	}
	d.failedInfo, d.failedErr = nil, nil
	d.cur.Store(g)
	old.release() // closed once the last snapshot of it is released
	d.log.Info("IP database reloaded", zap.Time("build_time", g.reader.Metadata.BuildTime()),
		zap.Int64("bytes", fi.Size()), zap.Uint("node_count", g.reader.Metadata.NodeCount))
	d.report(&g.reader.Metadata, nil)
	return true, nil
}

func (d *DB) report(meta *maxminddb.Metadata, err error) {
	if d.opts.OnReload != nil {
		d.opts.OnReload(meta, err)
	}
}

// Close stops using the file. Snapshots still held keep it mapped until
// they are released; Acquire and Reload fail with ErrClosed afterwards.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if g := d.cur.Swap(nil); g != nil {
		g.release()
	}
	return nil
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// load opens the file described by fi as a new generation.
func (d *DB) load(fi os.FileInfo) (*generation, error) {
	r, err := maxminddb.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("ipdb: opening %s: %w", d.path, err)
	}
	records, err := cache.New[uint64, cached](d.opts.CacheSize, d.opts.CacheMetrics)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("ipdb: %w", err)
	}
	g := &generation{reader: r, info: fi, log: d.log, cache: records}
	g.refs.Store(1) // the DB's reference
	return g, nil
}

// dead is the reference count of a closed generation: far below zero, so
// that no late acquire can bring it back to a positive count.
const dead = -1 << 62

// generation is one loaded file. refs counts the DB's reference (until the
// generation is replaced) and every Snapshot's; the reader is closed when
// it drops to zero, and refs is set to dead.
type generation struct {
	reader *maxminddb.Reader
	info   os.FileInfo
	cache  *cache.Cache[uint64, cached]
	log    *zap.Logger
	refs   atomic.Int64
	closed atomic.Bool // for tests
}

// acquire takes a reference unless the generation is already released
// for good. Taking one on a generation that was replaced but not yet
// closed is fine: it stays open until that reference is released.
func (g *generation) acquire() bool {
	if g.refs.Add(1) > 1 {
		return true // someone else held it, so it cannot have been closed
	}
	g.release() // it was at zero (closing) or dead: undo
	return false
}

func (g *generation) release() {
	if g.refs.Add(-1) == 0 && g.refs.CompareAndSwap(0, dead) {
		if err := g.reader.Close(); err != nil {
			g.log.Warn("closing a replaced IP database", zap.Error(err))
		}
		g.closed.Store(true)
	}
}

// cached is a decoded record, or why it did not decode.
type cached struct {
	n   *Network
	err error
}

// Snapshot reads one generation of the database. It is meant for one
// goroutine (it counts cache hits without synchronisation); several
// goroutines each acquire their own.
type Snapshot struct {
	g *generation
	// Hits and Misses count Lookups answered from the decoded-record cache
	// and by decoding, for metrics.
	Hits, Misses int
}

// Release gives the snapshot back; it must not be used afterwards. A zero
// Snapshot's Release does nothing.
func (s *Snapshot) Release() {
	if s.g != nil {
		s.g.release()
		s.g = nil
	}
}

// Metadata returns the metadata of the snapshot's file.
func (s *Snapshot) Metadata() *maxminddb.Metadata { return &s.g.reader.Metadata }

// Lookup returns the network addr belongs to, or nil if the database has
// no record for it. Errors wrap ErrBadRecord (a record of another layout)
// or come from a corrupt file.
func (s *Snapshot) Lookup(addr netip.Addr) (*Network, error) {
	res := s.g.reader.Lookup(addr)
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("ipdb: looking up %s: %w", addr, err)
	}
	if !res.Found() {
		return nil, nil
	}
	off := uint64(res.Offset())
	if c, ok := s.g.cache.Get(off); ok {
		s.Hits++
		return c.n, c.err
	}
	s.Misses++
	var rec dataset.IPRecord
	c := cached{}
	if err := res.Decode(&rec); err != nil {
		c.err = fmt.Errorf("%w: record of %s: %w", ErrBadRecord, res.Prefix(), err)
		s.g.log.Error("IP database record does not decode; its addresses are dropped",
			zap.Stringer("network", res.Prefix()), zap.Error(err))
	} else {
		c.n = newNetwork(&rec)
	}
	s.g.cache.Add(off, c)
	return c.n, c.err
}

// newNetwork turns a decoded record into a Network.
func newNetwork(rec *dataset.IPRecord) *Network {
	n := &Network{Domain: strings.ToLower(strings.TrimSpace(rec.CompanyDomain))}
	switch rec.NetworkType {
	case schemas.NetworkBusiness, schemas.NetworkISP, schemas.NetworkHosting, schemas.NetworkEducation:
		n.Type = rec.NetworkType
	case "":
		if n.Domain != "" {
			n.Type = schemas.NetworkBusiness
		}
	default:
		n.Type = rec.NetworkType
	}
	if loc := rec.Geo.Location(); loc != (schemas.Location{}) {
		n.Location = &loc
	}
	return n
}

package pipeline

import (
	"bytes"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// xerialMagic starts a Snappy batch in the framed format Java producers
// may write; franz-go decodes it frame by frame.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// RecordRecycler is implemented by a stage that keeps nothing of its
// input records once a batch is finished, not even through a slice or a
// string sharing their bytes: the Batch contract, kept strictly (the
// stage's decoders copy what they keep). Its Runner then lends franz-go
// the buffers fetched batches are decompressed into and the record slices
// they are decoded into, and takes them back when every record of a
// fetched batch is in a finished batch: decompressing the fetches was a
// quarter of the bytes the pipeline allocated at 20,000 events/s
// (docs/performance.md). "Finished" counts every Hold (Batch.Hold): a
// stage whose work outlives Process (deliver keeps parts of its requests
// in endpoint queues) may implement it as long as that work holds its
// batch until it no longer reads the records.
type RecordRecycler interface {
	// RecyclesRecords is a marker; it is never called.
	RecyclesRecords()
}

// Size classes of recordPool: buffers of 2^minClass .. 2^maxClass bytes
// (4 KiB .. 32 MiB; a fetch is at most fetch_max_bytes) and record slices
// of 2^0 .. 2^maxClass records.
const (
	minClass = 12
	maxClass = 25
)

// recordPool implements kgo.PoolDecompressBytes and kgo.PoolRecords with
// a sync.Pool per power of two. A sync.Pool drops what stays unused over
// two garbage collections, so the pool needs no bound of its own.
type recordPool struct {
	bufs [maxClass + 1]sync.Pool // of *[]byte, cap >= 1<<class
	recs [maxClass + 1]sync.Pool // of *[]kgo.Record, cap >= 1<<class

	poison bool // PoisonRecycledEnv: overwrite buffers as they come back

	returned, reused atomic.Int64 // buffers put back, and lent again
}

var (
	_ kgo.PoolDecompressBytes = (*recordPool)(nil)
	_ kgo.PoolRecords         = (*recordPool)(nil)
)

// classOf is the smallest class whose size holds n.
func classOf(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// GetDecompressBytes returns a buffer for decompressing compressed: as
// long as the Snappy block says it decodes to, else four times its size
// (a guess; franz-go grows a buffer that is too small, and gives the
// grown one back). The guess was short for most of the pipeline's own
// batches, whose JSON Snappy takes down five- to eightfold: the codec
// then allocated a buffer of its own for them, 5% of the bytes the
// process allocated at 60,000 events/s.
func (p *recordPool) GetDecompressBytes(compressed []byte, codec kgo.CompressionCodecType) []byte {
	n := 4 * len(compressed)
	if codec == kgo.CodecSnappy && !bytes.HasPrefix(compressed, xerialMagic) {
		// A block starts with its decoded length; franz-go checks it
		// against its bound before decoding, and so does the class
		// bound below. (A Java producer's framed Snappy does not.)
		if l, err := s2.DecodedLen(compressed); err == nil {
			n = l
		}
	}
	c := max(classOf(n), minClass)
	if c > maxClass {
		return nil
	}
	if b, ok := p.bufs[c].Get().(*[]byte); ok {
		p.reused.Add(1)
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<c)
}

// PoisonRecycledEnv names the environment variable that, set to "1" when
// a RecordRecycler's Runner is made, makes its pool overwrite every
// decompression buffer that comes back with 0xAA bytes: a stage that
// reads a record after its batch finished then sees the damage at once,
// not only once the buffer is lent again (tests set it).
const PoisonRecycledEnv = "LEADFLOW_DEBUG_POISON_RECYCLED"

// PutDecompressBytes takes back a buffer under the largest class its
// capacity holds.
func (p *recordPool) PutDecompressBytes(b []byte) {
	c := bits.Len(uint(cap(b))) - 1
	if c < minClass || c > maxClass {
		return
	}
	if p.poison {
		b = b[:cap(b)]
		for i := range b {
			b[i] = 0xAA
		}
	}
	b = b[:0]
	p.returned.Add(1)
	p.bufs[c].Put(&b)
}

// GetRecords returns a record slice of capacity at least n.
func (p *recordPool) GetRecords(n int) []kgo.Record {
	c := classOf(n)
	if c > maxClass {
		return make([]kgo.Record, 0, n)
	}
	if rs, ok := p.recs[c].Get().(*[]kgo.Record); ok {
		return (*rs)[:0]
	}
	return make([]kgo.Record, 0, 1<<c)
}

// PutRecords takes back a record slice, whose records franz-go zeroed.
func (p *recordPool) PutRecords(rs []kgo.Record) {
	c := bits.Len(uint(cap(rs))) - 1
	if c < 0 || c > maxClass {
		return
	}
	rs = rs[:0]
	p.recs[c].Put(&rs)
}

// slabSize is the size of the output slabs Batch.Grow lends: a few dozen
// of the pipeline's records each.
const slabSize = 64 << 10

// slabPool holds the output slabs of finished batches (Batch.Grow) for
// the next batches. A sync.Pool drops what stays unused over two garbage
// collections, so it needs no bound of its own.
type slabPool struct {
	p              sync.Pool // of *[]byte, cap slabSize
	returned, lent atomic.Int64
}

// get returns a slab: one a finished batch gave back, else a new one.
func (p *slabPool) get() *[]byte {
	if s, ok := p.p.Get().(*[]byte); ok {
		p.lent.Add(1)
		return s
	}
	s := make([]byte, 0, slabSize)
	return &s
}

// put takes back the slabs of a batch that is done.
func (p *slabPool) put(slabs []*[]byte) {
	for _, s := range slabs {
		p.p.Put(s)
	}
	p.returned.Add(int64(len(slabs)))
}

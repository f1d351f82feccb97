package pipeline

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A Snappy block gets a buffer its decoded length fits in, however well
// it compressed; other codecs and framed Snappy get the guess.
func TestDecompressBufferFitsTheBlock(t *testing.T) {
	var p recordPool
	raw := bytes.Repeat([]byte(`{"event_id":"e1","type":"pageview","url":"https://acme.io/"}`), 2000)
	block := s2.EncodeSnappy(nil, raw)
	if 4*len(block) >= len(raw) {
		t.Fatalf("the block is %d bytes for %d: not compressed enough to tell", len(block), len(raw))
	}
	if b := p.GetDecompressBytes(block, kgo.CodecSnappy); cap(b) < len(raw) || len(b) != 0 {
		t.Fatalf("buffer len %d cap %d for a block of %d bytes decoded", len(b), cap(b), len(raw))
	}
	framed := append(append([]byte(nil), xerialMagic...), block...)
	if b := p.GetDecompressBytes(framed, kgo.CodecSnappy); cap(b) != 1<<classOf(4*len(framed)) {
		t.Fatalf("framed Snappy: cap %d, want the guess %d", cap(b), 1<<classOf(4*len(framed)))
	}
	if b := p.GetDecompressBytes(block, kgo.CodecLz4); cap(b) != 1<<classOf(4*len(block)) {
		t.Fatalf("lz4: cap %d, want the guess %d", cap(b), 1<<classOf(4*len(block)))
	}
	huge := s2.EncodeSnappy(nil, make([]byte, 1<<maxClass+1))
	if b := p.GetDecompressBytes(huge, kgo.CodecSnappy); b != nil {
		t.Fatalf("a block past the largest class got a pooled buffer of cap %d", cap(b))
	}
}

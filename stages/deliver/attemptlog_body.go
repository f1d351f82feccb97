package deliver

import (
	"bytes"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// The attempt log keeps the newest attempt_log_bodies request bodies of
// each webhook for View Logs and Resend. A body is a batch of up to
// max_subjects leads (tens of KB of JSON that repeats the same keys), so
// it is stored as a zstd frame (klauspost/compress, already in the build
// through franz-go), about a tenth of its size. Bodies stored before (and
// small ones, where a frame would not pay) are the JSON itself, which
// never starts with zstd's magic number, so both read.

// bodyPackMin is the smallest body that is compressed.
const bodyPackMin = 512

// bodyWindow is the compressor's window.
const bodyWindow = 64 << 10

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// bodyCodec compresses and expands kept bodies. Its encoder and decoder
// are made on first use (a process that only reads the log never makes
// the encoder) and are safe for concurrent use (EncodeAll, DecodeAll).
type bodyCodec struct {
	encOnce sync.Once
	enc     *zstd.Encoder
	decOnce sync.Once
	dec     *zstd.Decoder
	err     error
}

// pack returns body as it is stored.
func (c *bodyCodec) pack(body []byte) []byte {
	if len(body) < bodyPackMin {
		return body
	}
	c.encOnce.Do(func() {
		// Errors only come from invalid options. A 64 KiB window (a body's
		// leads repeat each other within a few KB) keeps the encoder at
		// about 0.6 MB of heap instead of 4.6 MB with the default window.
		c.enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(bodyWindow))
	})
	return c.enc.EncodeAll(body, make([]byte, 0, len(body)/6))
}

// maxUnpackedBody bounds what a stored body may expand to: far above any
// attempt_log_body_bytes, a guard against a frame that is not ours.
const maxUnpackedBody = 64 << 20

// unpack returns the body stored as b.
func (c *bodyCodec) unpack(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, zstdMagic) {
		return b, nil
	}
	c.decOnce.Do(func() {
		c.dec, c.err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxUnpackedBody), zstd.WithDecoderLowmem(true))
	})
	if c.err != nil {
		return nil, c.err
	}
	return c.dec.DecodeAll(b, nil)
}

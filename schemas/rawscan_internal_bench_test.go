package schemas

import (
	"testing"

	gojson "github.com/goccy/go-json"
)

// BenchmarkDecodeRawEventScan isolates the part of BenchmarkDecodeRawEvent
// that goccy would replace: the raw-event scanner (keys, duplicates, types;
// no validation) against goccy/go-json into a RawEvent. Both then share the
// same validation (RawEvent.validate), which is most of a decode's cost.
func BenchmarkDecodeRawEventScan(b *testing.B) {
	guide := GuideNetcontrolEvent()
	data := guide.AppendJSON(nil)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var ev RawEvent
			sc := rawScanner{scanner: scanner{src: string(data)}}
			if err := sc.scanEvent(&ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, g := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{
		{"goccy", gojson.Unmarshal},
		{"goccy-noescape", func(data []byte, v any) error { return gojson.UnmarshalNoEscape(data, v) }},
	} {
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var ev RawEvent
				if err := g.unmarshal(data, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package schemas_test

import (
	"bytes"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// designEvent is the DESIGN 1.2 example, a typical raw event.
var designEvent = []byte(`{"event_id": "0b7c6f0e-9a4e-4c1e-8f55-5d2b1c9e7a01", "workspace_id": "ws_123", "session_id": "s_9f1c",
 "visitor_id": "v_77", "type": "pageview", "ip": "198.51.100.23",
 "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
 "url": "https://www.example.com/pricing?utm_source=google", "referrer": "https://www.google.com/",
 "time_spent": 14, "timestamp": "2024-05-15T10:55:50Z"}`)

func BenchmarkDecodeRawEvent(b *testing.B) {
	guide := schemas.GuideNetcontrolEvent()
	for _, bc := range []struct {
		name string
		data []byte
	}{{"design", designEvent}, {"guide-long-url", guide.AppendJSON(nil)}} {
		b.Run(bc.name, func(b *testing.B) {
			var d schemas.RawDecoder
			var ev schemas.RawEvent
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if err := d.Decode(bc.data, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeRawEventGoccyReference is the alternative the scanner was
// measured against: goccy/go-json's stream decoder (the only goccy API with
// DisallowUnknownFields) into RawEvent, plus the same validation.
func BenchmarkDecodeRawEventGoccyReference(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(designEvent)))
	for b.Loop() {
		var ev schemas.RawEvent
		dec := gojson.NewDecoder(bytes.NewReader(designEvent))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			b.Fatal(err)
		}
		if err := ev.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLeadAppendJSON(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	buf := lead.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = lead.AppendJSON(buf[:0])
	}
}

func BenchmarkLeadMarshalJSON(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lead.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLeadUnmarshalJSON(b *testing.B) {
	src := schemas.GuideNetcontrolLead()
	data := src.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var lead schemas.Lead
	for b.Loop() {
		if err := lead.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeadUnmarshalJSONGoccyReference is what Lead.UnmarshalJSON did
// before the hand-written decoder: goccy/go-json into Lead's fields.
func BenchmarkLeadUnmarshalJSONGoccyReference(b *testing.B) {
	src := schemas.GuideNetcontrolLead()
	data := src.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var lead refLead
		if err := gojson.Unmarshal(data, &lead); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeLeadChange decodes a change of a lead with five sessions of
// five pageviews as the leads stage writes it (about 9 KB): "hand" is
// LeadChange.UnmarshalJSON, "goccy" is goccy/go-json into reflection types,
// as the evaluate stage decoded changes before (its nested Lead and Company
// UnmarshalJSON calls made that slower still).
func BenchmarkDecodeLeadChange(b *testing.B) {
	c := sampleChange(5, 5)
	data := encodeChange(b, &c)
	benchDecode(b, "hand", data, func(data []byte) error {
		var ch schemas.LeadChange
		return ch.UnmarshalJSON(data)
	})
	benchDecode(b, "goccy", data, func(data []byte) error {
		var ch refChange
		return gojson.Unmarshal(data, &ch)
	})
}

// BenchmarkDecodeChangeHead decodes the head of the change of
// BenchmarkDecodeLeadChange: "hand" is DecodeChangeHead, "goccy" is
// goccy/go-json into a struct of the four members, as the evaluate stage
// did before (it scans the whole document).
func BenchmarkDecodeChangeHead(b *testing.B) {
	c := sampleChange(5, 5)
	data := encodeChange(b, &c)
	var h schemas.ChangeHead
	benchDecode(b, "hand", data, func(data []byte) error { return schemas.DecodeChangeHead(data, &h) })
	benchDecode(b, "goccy", data, func(data []byte) error {
		var h struct {
			WorkspaceID string `json:"workspace_id"`
			LeadKey     string `json:"lead_key"`
			SessionKey  string `json:"session_key"`
			EventID     string `json:"event_id"`
		}
		return gojson.Unmarshal(data, &h)
	})
}

// benchDecode runs decode on data as the sub-benchmark name.
func benchDecode(b *testing.B, name string, data []byte, decode func([]byte) error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkContactAppendJSON(b *testing.B) {
	c := schemas.GuideJohnDoe()
	buf := c.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendJSON(buf[:0])
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	subjects := make([][]byte, 100)
	for i := range subjects {
		subjects[i] = lead.AppendJSON(nil)
	}
	buf := schemas.AppendPayload(nil, schemas.EventNewLead, subjects)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = schemas.AppendPayload(buf[:0], schemas.EventNewLead, subjects)
	}
}

func BenchmarkHit(b *testing.B) {
	ev := schemas.GuideNetcontrolEvent()
	h := ev.Hit()
	h.CompanyDomain, h.NetworkType, h.Browser, h.OperatingSystem, h.DeviceType = "netcontrol.com", "business", "Safari", "Mac OS", "desktop"
	loc := schemas.GuideNetcontrolVisitorLocation()
	h.Location = &loc
	data := h.AppendJSON(nil)
	b.Run("FromEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ev.Hit()
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		buf := data[:0:0]
		b.ReportAllocs()
		for b.Loop() {
			buf = h.AppendJSON(buf[:0])
		}
	})
	b.Run("UnmarshalJSON", func(b *testing.B) {
		var back schemas.Hit
		b.ReportAllocs()
		for b.Loop() {
			if err := back.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

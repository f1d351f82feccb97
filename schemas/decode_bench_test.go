package schemas_test

import (
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// The decoder benchmarks: each hand-written decoder ("hand") against
// goccy/go-json's fastest APIs on a pre-built type in the same run
// ("goccy": json.Unmarshal; "goccy-noescape": json.UnmarshalNoEscape, which
// lets the target stay on the stack). Figures and the decision of which
// decoders stay are in docs/performance.md ("Decoders"); run them with
//
//	go test -run x -bench 'Decode' -benchmem -count 5 ./schemas/ ./stages/deliver/

// goccyVariants are goccy's two fastest whole-document APIs.
var goccyVariants = []struct {
	name      string
	unmarshal func([]byte, any) error
}{
	{"goccy", gojson.Unmarshal},
	{"goccy-noescape", func(data []byte, v any) error { return gojson.UnmarshalNoEscape(data, v) }},
}

// benchGoccy runs goccy's variants decoding data into a new T with check
// called on the result (nil: none), as sub-benchmarks.
func benchGoccy[T any](b *testing.B, data []byte, check func(*T) error) {
	for _, g := range goccyVariants {
		benchDecode(b, g.name, data, func(data []byte) error {
			var v T
			if err := g.unmarshal(data, &v); err != nil {
				return err
			}
			if check != nil {
				return check(&v)
			}
			return nil
		})
	}
}

// benchDecode runs decode on data as the sub-benchmark name. Besides
// ns/op (wall time) it reports cpu-ns/op, the process's CPU time per
// decode (garbage collection on other threads included, time the process
// waited for a core excluded), which stays comparable on a loaded machine.
func benchDecode(b *testing.B, name string, data []byte, decode func([]byte) error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu0 := processCPU()
		for b.Loop() {
			if err := decode(data); err != nil {
				b.Fatal(err)
			}
		}
		if cpu0 > 0 {
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		}
	})
}

// designEvent is the DESIGN 1.2 example, a typical raw event.
var designEvent = []byte(`{"event_id": "0b7c6f0e-9a4e-4c1e-8f55-5d2b1c9e7a01", "workspace_id": "ws_123", "session_id": "s_9f1c",
 "visitor_id": "v_77", "type": "pageview", "ip": "198.51.100.23",
 "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
 "url": "https://www.example.com/pricing?utm_source=google", "referrer": "https://www.google.com/",
 "time_spent": 14, "timestamp": "2024-05-15T10:55:50Z"}`)

// BenchmarkDecodeRawEvent: RawDecoder.Decode against goccy into a RawEvent
// followed by the same validation (RawEvent.Validate). goccy's Unmarshal
// cannot reject unknown keys (only its stream Decoder can, at several
// times the cost), so the goccy rows do less than the decoder.
func BenchmarkDecodeRawEvent(b *testing.B) {
	guide := schemas.GuideNetcontrolEvent()
	for _, bc := range []struct {
		name string
		data []byte
	}{{"design", designEvent}, {"guide-long-url", guide.AppendJSON(nil)}} {
		b.Run(bc.name, func(b *testing.B) {
			var d schemas.RawDecoder
			var ev schemas.RawEvent
			benchDecode(b, "hand", bc.data, func(data []byte) error { return d.Decode(data, &ev) })
			benchGoccy(b, bc.data, (*schemas.RawEvent).Validate)
		})
	}
}

// BenchmarkDecodeRawEventScan isolates the part of BenchmarkDecodeRawEvent
// that goccy would replace: the raw-event scanner alone (keys, duplicates,
// types; no validation) against goccy into a RawEvent. Both share the same
// validation (RawEvent.Validate), which is most of a decode's cost.
func BenchmarkDecodeRawEventScan(b *testing.B) {
	guide := schemas.GuideNetcontrolEvent()
	data := guide.AppendJSON(nil)
	var ev schemas.RawEvent
	benchDecode(b, "hand", data, func(data []byte) error { return schemas.ScanRawEvent(data, &ev) })
	benchGoccy[schemas.RawEvent](b, data, nil)
}

// BenchmarkDecodeHit: Hit.UnmarshalJSON (the leads stage, every hit)
// against goccy into refHit, Hit without its methods.
func BenchmarkDecodeHit(b *testing.B) {
	ev := schemas.GuideNetcontrolEvent()
	h := ev.Hit()
	h.CompanyDomain, h.NetworkType, h.Browser, h.OperatingSystem, h.DeviceType = "netcontrol.com", "business", "Safari", "Mac OS", "desktop"
	loc := schemas.GuideNetcontrolVisitorLocation()
	h.Location = &loc
	data := h.AppendJSON(nil)
	var back schemas.Hit
	benchDecode(b, "hand", data, back.UnmarshalJSON)
	benchGoccy[refHit](b, data, nil)
}

// BenchmarkDecodeLeadChange decodes a change as the leads stage writes it:
// "1x5" is the format since changes carry only the changed session (one
// session of five pageviews, the others by reference), "5x5" the former
// whole subject (five sessions of five pageviews, about 9 KB). "hand" is
// LeadChange.UnmarshalJSON, the goccy rows decode refChange by reflection.
func BenchmarkDecodeLeadChange(b *testing.B) {
	for _, n := range []struct {
		name          string
		sessions, pvs int
	}{{"1x5", 1, 5}, {"5x5", 5, 5}} {
		b.Run(n.name, func(b *testing.B) {
			c := sampleChange(n.sessions, n.pvs)
			data := encodeChange(b, &c)
			benchDecode(b, "hand", data, func(data []byte) error {
				var ch schemas.LeadChange
				return ch.UnmarshalJSON(data)
			})
			benchGoccy[refChange](b, data, nil)
		})
	}
}

// refChangeNoSessions is refChange without lead.recent_sessions (a
// shallower field tagged "-" hides the embedded one), so that goccy skips
// them as DecodeChangeWithoutSessions does.
type refChangeNoSessions struct {
	changeAlias
	Lead struct {
		leadAlias
		Company        refCompany        `json:"company"`
		RecentSessions []schemas.Session `json:"-"`
	} `json:"lead"`
}

// BenchmarkDecodeChangeWithoutSessions: DecodeChangeWithoutSessions (the
// evaluate stage, every change with a segment filter) on the 5x5 change of
// BenchmarkDecodeLeadChange against goccy into a type without the sessions.
func BenchmarkDecodeChangeWithoutSessions(b *testing.B) {
	c := sampleChange(5, 5)
	data := encodeChange(b, &c)
	var ch schemas.LeadChange
	benchDecode(b, "hand", data, func(data []byte) error { return schemas.DecodeChangeWithoutSessions(data, &ch) })
	benchGoccy[refChangeNoSessions](b, data, nil)
}

// changeHead is what goccy decodes for BenchmarkDecodeChangeHead.
type changeHead struct {
	WorkspaceID string `json:"workspace_id"`
	LeadKey     string `json:"lead_key"`
	SessionKey  string `json:"session_key"`
	EventID     string `json:"event_id"`
}

// BenchmarkDecodeChangeHead: DecodeChangeHead (the evaluate stage, every
// change) on the 1x5 change against goccy into the four members (goccy reads
// the whole document).
func BenchmarkDecodeChangeHead(b *testing.B) {
	c := sampleChange(1, 5)
	data := encodeChange(b, &c)
	var h schemas.ChangeHead
	benchDecode(b, "hand", data, func(data []byte) error { return schemas.DecodeChangeHead(data, &h) })
	benchGoccy[changeHead](b, data, nil)
}

// changeCompany is what goccy decodes for BenchmarkDecodeChangeCompanyJSON.
type changeCompany struct {
	Lead struct {
		Company gojson.RawMessage `json:"company"`
	} `json:"lead"`
}

// BenchmarkDecodeChangeCompanyJSON: ChangeCompanyJSON (the evaluate stage,
// every change with a company-only segment) on the 1x5 change against goccy
// into a RawMessage.
func BenchmarkDecodeChangeCompanyJSON(b *testing.B) {
	c := sampleChange(1, 5)
	data := encodeChange(b, &c)
	benchDecode(b, "hand", data, func(data []byte) error {
		_, err := schemas.ChangeCompanyJSON(data)
		return err
	})
	benchGoccy[changeCompany](b, data, nil)
}

// BenchmarkDecodeLead: Lead.UnmarshalJSON (the guide's lead, one session)
// against goccy into refLead.
func BenchmarkDecodeLead(b *testing.B) {
	src := schemas.GuideNetcontrolLead()
	data := src.AppendJSON(nil)
	var lead schemas.Lead
	benchDecode(b, "hand", data, lead.UnmarshalJSON)
	benchGoccy[refLead](b, data, nil)
}

// BenchmarkDecodeCompany: Company.UnmarshalJSON (the guide's company)
// against goccy into refCompany.
func BenchmarkDecodeCompany(b *testing.B) {
	src := schemas.GuideNetcontrolLead().Company
	data := src.AppendJSON(nil)
	var co schemas.Company
	benchDecode(b, "hand", data, co.UnmarshalJSON)
	benchGoccy[refCompany](b, data, nil)
}

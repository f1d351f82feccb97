package deliver

import (
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// goccyRequest is what the goccy rows of BenchmarkDecodeRequest decode: the
// members decodeRequest reads, the subject as a RawMessage (goccy copies
// it).
type goccyRequest struct {
	ID          string          `json:"id"`
	WorkspaceID string          `json:"workspace_id"`
	WebhookID   string          `json:"webhook_id"`
	Event       string          `json:"event"`
	Subject     json.RawMessage `json:"subject"`
	TriggeredAt time.Time       `json:"triggered_at"`
}

// goccyVariants are goccy's two fastest whole-document APIs.
var goccyVariants = []struct {
	name      string
	unmarshal func([]byte, any) error
}{
	{"goccy", json.Unmarshal},
	{"goccy-noescape", func(data []byte, v any) error { return json.UnmarshalNoEscape(data, v) }},
}

// benchRequest is a delivery request of the guide's lead as evaluate writes it.
func benchRequest() []byte {
	lead := schemas.GuideNetcontrolLead()
	r := schemas.DeliveryRequest{ID: "3f1c9a0e7b2d4c65", WorkspaceID: "ws_123", WebhookID: "wh_42", AutomationID: "au_7",
		Event: schemas.EventNewLead, Subject: lead.AppendJSON(nil),
		TriggeredAt: time.Date(2024, 5, 15, 10, 55, 50, 123456789, time.UTC), EventTime: time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC)}
	return r.AppendJSON(nil)
}

// BenchmarkDecodeRequest: decodeRequest (the deliver stage, every subject)
// against goccy into goccyRequest plus the same checks.
func BenchmarkDecodeRequest(b *testing.B) {
	data := benchRequest()
	b.Run("hand", func(b *testing.B) {
		var it item
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		defer reportCPU(b, processCPU())
		for b.Loop() {
			if err := decodeRequest(data, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, g := range goccyVariants {
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			defer reportCPU(b, processCPU())
			for b.Loop() {
				var r goccyRequest
				if err := g.unmarshal(data, &r); err != nil {
					b.Fatal(err)
				}
				switch {
				case r.ID == "" || r.WorkspaceID == "" || r.WebhookID == "" || len(r.Subject) == 0 || string(r.Subject) == "null":
					b.Fatal("missing member")
				case r.Event != schemas.EventNewLead && r.Event != schemas.EventNewSession && r.Event != schemas.EventContactRevealed:
					b.Fatal("bad event")
				}
			}
		})
	}
}

// goccyEnvelope is what the goccy rows of BenchmarkDecodeEnvelope decode.
type goccyEnvelope struct {
	Requests []json.RawMessage `json:"requests"`
}

// BenchmarkDecodeEnvelope: decodeEnvelope (the deliver stage, every retry
// record) of a 20-request envelope against goccy into goccyEnvelope; both
// only split it into its requests.
func BenchmarkDecodeEnvelope(b *testing.B) {
	req := benchRequest()
	items := make([]*item, 20)
	for i := range items {
		items[i] = &item{raw: req}
	}
	data := appendEnvelope(nil, items)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		defer reportCPU(b, processCPU())
		for b.Loop() {
			n := 0
			if err := decodeEnvelope(data, func([]byte) error { n++; return nil }); err != nil || n != len(items) {
				b.Fatal(err, n)
			}
		}
	})
	for _, g := range goccyVariants {
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			defer reportCPU(b, processCPU())
			for b.Loop() {
				var env goccyEnvelope
				if err := g.unmarshal(data, &env); err != nil || len(env.Requests) != len(items) {
					b.Fatal(err, len(env.Requests))
				}
			}
		})
	}
}

// reportCPU reports cpu-ns/op, the process's CPU time per op since cpu0 (as
// the schemas decoder benchmarks do: comparable on a loaded machine).
func reportCPU(b *testing.B, cpu0 int64) {
	if cpu0 > 0 {
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

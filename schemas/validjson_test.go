package schemas_test

import (
	stdjson "encoding/json"
	"testing"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// validJSONCases are inputs on which ValidJSON must agree with
// encoding/json.Valid (all valid UTF-8 and shallow, where the two agree).
var validJSONCases = []string{
	`{}`, `[]`, `null`, `0`, `-1.5e3`, `"x"`, ` {"a":[1,2,{"b":null}]} `,
	`{"event":"new_lead","data":{"name":"Netcontrol Oy","tags":["a","b"]}}`,
	``, ` `, `{`, `{"a":}`, `{"a":1,}`, `[1 2]`, `{} {}`, `01`, `"\x"`, `nul`, `{"a":1}x`, `1.`,
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validJSONCases {
		if got, want := schemas.ValidJSON([]byte(c)), stdjson.Valid([]byte(c)); got != want {
			t.Errorf("ValidJSON(%q) = %v, encoding/json.Valid says %v", c, got, want)
		}
	}
}

// TestValidJSONAllocs: a body without escaped strings costs no allocation
// (one with escapes costs one per such string, see ValidJSON).
func TestValidJSONAllocs(t *testing.T) {
	body := []byte(validJSONCases[7])
	if n := testing.AllocsPerRun(100, func() { schemas.ValidJSON(body) }); n != 0 {
		t.Fatalf("ValidJSON allocates %v times per call, want 0", n)
	}
}

// BenchmarkValidJSON compares ValidJSON with goccy's json.Valid (which the
// deliver stage's attempt log used before) on a guide-sized webhook body.
func BenchmarkValidJSON(b *testing.B) {
	body, err := json.Marshal(schemas.GuideNetcontrolLead())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !schemas.ValidJSON(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("goccy", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

package schemas_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// refHit is schemas.Hit without its methods, for goccy to decode by
// reflection as Hit.UnmarshalJSON did before the hand-written decoder.
type refHit schemas.Hit

// FuzzHitDecode checks Hit.UnmarshalJSON against goccy (the decoder it
// replaced): hits built from fuzzed values decode the same with both, no
// input makes it panic, and every error is a *DecodeError. (It was the leads
// stage's FuzzScanHit, of the stage's own scanner, which this decoder
// replaced.)
func FuzzHitDecode(f *testing.F) {
	g := schemas.GuideNetcontrolHit()
	f.Add(g.EventID, g.URL, g.Referrer, int64(14), 63.216671, "Lahti", true, []byte(`{"x":[1,{"y":null}],"event_id":"a"}`))
	f.Add("é\u2028\"\\", "https://a/b?c=\x01", "", int64(-1), -0.0, "", false, []byte(`{"event_id":"\ud83d\ude00\u00e9\/","location":{"city":null}}`))
	f.Fuzz(func(t *testing.T, id, url, ref string, spent int64, lat float64, city string, withLoc bool, raw []byte) {
		h := g
		h.EventID, h.URL, h.Referrer, h.TimeSpent, h.Location = id, url, ref, spent, nil
		if withLoc {
			h.Location = &schemas.Location{City: &city, Latitude: &lat}
		}
		for _, data := range [][]byte{h.AppendJSON(nil), raw} {
			var want refHit
			var got schemas.Hit
			werr := gojson.Unmarshal(data, &want)
			gerr := got.UnmarshalJSON(data)
			var de *schemas.DecodeError
			if gerr != nil && !errors.As(gerr, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", gerr, gerr)
			}
			if (werr == nil) != (gerr == nil) {
				if bytes.Equal(data, raw) {
					continue // arbitrary input: the two may disagree on what is valid
				}
				t.Fatalf("goccy: %v, UnmarshalJSON: %v\n%s", werr, gerr, data)
			}
			if werr != nil || !utf8.Valid(data) {
				continue
			}
			if !want.Timestamp.Equal(got.Timestamp) {
				t.Fatalf("timestamp %v, want %v", got.Timestamp, want.Timestamp)
			}
			want.Timestamp, got.Timestamp = time.Time{}, time.Time{}
			if !reflect.DeepEqual(schemas.Hit(want), got) {
				t.Fatalf("decoded\n got  %+v\n want %+v\n%s", got, want, data)
			}
		}
	})
}

// TestHitDecodeSemantics pins what the leads stage relies on (see decodeHit
// in hit_decode.go), where the hit decoder differs from the lead change's
// and where goccy would differ.
func TestHitDecodeSemantics(t *testing.T) {
	ts := time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC)
	for _, tc := range []struct {
		name, in string
		want     schemas.Hit // when ok
		ok       bool
	}{
		{"empty object", `{}`, schemas.Hit{}, true},
		{"top-level null is an error", `null`, schemas.Hit{}, false},
		{"not an object", `[1]`, schemas.Hit{}, false},
		{"empty input", ``, schemas.Hit{}, false},
		{"data after the object", `{} x`, schemas.Hit{}, false},
		{"unknown keys are skipped", ` {"x":[1,{"y":null}],"event_id":"a","z":true} `, schemas.Hit{EventID: "a"}, true},
		{"keys match exactly", `{"Event_ID":"a"}`, schemas.Hit{}, true},
		{"last of repeated keys wins", `{"type":"a","type":"b"}`, schemas.Hit{Type: "b"}, true},
		{"null leaves a string empty", `{"url":null,"time_spent":null,"timestamp":null}`, schemas.Hit{}, true},
		{"null after a value leaves it", `{"host":"a","host":null}`, schemas.Hit{Host: "a"}, true},
		{"escapes", `{"event_id":"\ud83d\ude00\u00e9\/\n\"\\"}`, schemas.Hit{EventID: "😀é/\n\"\\"}, true},
		{"lone surrogate becomes U+FFFD", `{"path":"\ud83dx"}`, schemas.Hit{Path: "\uFFFDx"}, true},
		{"invalid UTF-8 is kept", "{\"referrer\":\"a\xffb\"}", schemas.Hit{Referrer: "a\xffb"}, true},
		{"invalid UTF-8 with escapes is kept", "{\"referrer\":\"\\n\xff\"}", schemas.Hit{Referrer: "\n\xff"}, true},
		{"invalid UTF-8 in a skipped value", "{\"x\":[\"\xff\"]}", schemas.Hit{}, true},
		{"control character", "{\"url\":\"a\x01\"}", schemas.Hit{}, false},
		{"invalid escape", `{"url":"\x"}`, schemas.Hit{}, false},
		{"string field of the wrong type", `{"event_id":5}`, schemas.Hit{}, false},
		{"timestamp", `{"timestamp":"2024-05-15T10:55:50Z"}`, schemas.Hit{Timestamp: ts}, true},
		{"timestamp with escapes", `{"timestamp":"2024-05-15T10:55:50\u005a"}`, schemas.Hit{Timestamp: ts}, true},
		{"timestamp not RFC 3339", `{"timestamp":"2024-05-15 10:55:50"}`, schemas.Hit{}, false},
		{"timestamp not a string", `{"timestamp":1}`, schemas.Hit{}, false},
		{"time_spent", `{"time_spent":-7}`, schemas.Hit{TimeSpent: -7}, true},
		{"time_spent fractional", `{"time_spent":1.0}`, schemas.Hit{}, false},
		{"time_spent exponent", `{"time_spent":1e2}`, schemas.Hit{}, false},
		{"time_spent out of range", `{"time_spent":9223372036854775808}`, schemas.Hit{}, false},
		{"time_spent leading zero", `{"time_spent":01}`, schemas.Hit{}, false},
		{"time_spent a string", `{"time_spent":"1"}`, schemas.Hit{}, false},
		{"location null", `{"location":{"city":"a"},"location":null}`, schemas.Hit{}, true},
		{"empty location", `{"location":{}}`, schemas.Hit{Location: &schemas.Location{}}, true},
		{"location replaced as a whole", `{"location":{"city":"a"},"location":{"region":"b"}}`,
			schemas.Hit{Location: &schemas.Location{Region: new("b")}}, true},
		{"location fields", `{"location":{"city":"a","city":"c","country_code":null,"latitude":1.5,"longitude":-2e1,"x":{}}}`,
			schemas.Hit{Location: &schemas.Location{City: new("c"), Latitude: new(1.5), Longitude: new(-20.0)}}, true},
		{"location not an object", `{"location":"a"}`, schemas.Hit{}, false},
		{"latitude out of range", `{"location":{"latitude":1e999}}`, schemas.Hit{}, false},
		{"trailing comma", `{"url":"a",}`, schemas.Hit{}, false},
		{"missing comma", `{"url":"a" "host":"b"}`, schemas.Hit{}, false},
		{"nesting of 64 in a skipped value", `{"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, schemas.Hit{}, true},
		{"nesting of 65", `{"x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, schemas.Hit{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := schemas.Hit{EventID: "stale", Location: &schemas.Location{}}
			err := got.UnmarshalJSON([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("%s: err = %v, want ok %v", tc.in, err, tc.ok)
			}
			var de *schemas.DecodeError
			if err != nil && !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			if tc.ok && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s: got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// TestHitDecodeSharesOneCopy checks that strings without escapes share one
// copy of the input (not the input itself) and a hit costs one allocation,
// two with a location.
func TestHitDecodeSharesOneCopy(t *testing.T) {
	g := schemas.GuideNetcontrolHit()
	data := g.AppendJSON(nil)
	var h schemas.Hit
	if err := h.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	data[bytes.Index(data, []byte(g.EventID))] ^= 1
	if h.EventID != g.EventID {
		t.Fatalf("event_id changed with the input: %q", h.EventID)
	}
	data[bytes.Index(data, []byte(g.EventID[1:]))-1] ^= 1
	if n := testing.AllocsPerRun(100, func() { _ = h.UnmarshalJSON(data) }); n != 2 {
		t.Fatalf("%v allocations per hit with a location, want 2", n)
	}
	g.Location = nil
	data = g.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { _ = h.UnmarshalJSON(data) }); n != 1 {
		t.Fatalf("%v allocations per hit, want 1", n)
	}
}

// TestHitDecodeShared: DecodeShared decodes as UnmarshalJSON does, its
// strings are the input's bytes (a hit without a location costs no
// allocation), so they change when the input is written again.
func TestHitDecodeShared(t *testing.T) {
	g := schemas.GuideNetcontrolHit()
	data := g.AppendJSON(nil)
	var shared, copied schemas.Hit
	if err := shared.DecodeShared(data); err != nil {
		t.Fatal(err)
	}
	if err := copied.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shared, copied) {
		t.Fatalf("shared\n %+v\ncopied\n %+v", shared, copied)
	}
	g.Location = nil
	plain := g.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { _ = shared.DecodeShared(plain) }); n != 0 {
		t.Fatalf("%v allocations per hit without a location, want 0", n)
	}
	_ = shared.DecodeShared(data)
	data[bytes.Index(data, []byte(g.EventID))] ^= 1
	if shared.EventID == g.EventID || copied.EventID != g.EventID {
		t.Fatalf("after the input changed: shared event_id %q, copied %q", shared.EventID, copied.EventID)
	}
}

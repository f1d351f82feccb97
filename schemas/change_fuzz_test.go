package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadflow/leadflow/schemas"
)

// FuzzLeadChangeDecode checks the hand-written lead change decoder against
// encoding/json. No input may panic it or DecodeChangeHead, and every error
// is a *DecodeError. An accepted change must be read the same by
// encoding/json into reflection types, unless keys repeat or only match a
// known key case-insensitively (where the two differ on purpose); it must
// re-encode to a document that decodes to the same encoding; and
// DecodeChangeHead must accept it with the same head. A rejected input may
// be accepted by encoding/json only for what the decoder rejects on
// purpose: invalid UTF-8, unknown values nested over 64 deep, and known keys
// in another case (of the wrong type).
//
// Run it with go test ./schemas -run '^$' -fuzz FuzzLeadChangeDecode; plain
// go test runs the seeds.
func FuzzLeadChangeDecode(f *testing.F) {
	for _, data := range changeDocs(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"workspace_id":"w","lead_key":"l","session_key":"s","event_id":"e","lead":{"id":1e3}}`))
	f.Add([]byte(`{"Kind":"x","KIND":5,"kind":"y","kind":"z","lead":{"recent_sessions":[null,{"pageviews":[{}]}]}}`))
	f.Add([]byte(`{"x":[[[[{"y":"\ud800\u00e9"}]]]],"stats":{"sessions":-0},"event_time":"2024-05-15T10:55:50+23:59"}`))
	f.Add([]byte(`{"lead":{"first_seen":"0000-01-01T00:00:00+01:00","company":{"annual_revenue":-0}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got schemas.LeadChange
		err := got.UnmarshalJSON(data)
		var h schemas.ChangeHead
		headErr := schemas.DecodeChangeHead(data, &h)
		var lead schemas.Lead
		leadErr := lead.UnmarshalJSON(data)
		var co schemas.Company
		coErr := co.UnmarshalJSON(data)
		for _, e := range []error{err, headErr, leadErr, coErr} {
			if _, ok := errors.AsType[*schemas.DecodeError](e); e != nil && (!ok || e.Error() == "") {
				t.Fatalf("error %v (%T) is not a *DecodeError", e, e)
			}
		}
		std, stdErr := stdChange(data)
		var keys keyOddities
		if encjson.Valid(data) {
			keys = oddKeys(data)
		}
		if err != nil {
			if stdErr == nil && utf8.Valid(data) && maxDepth(data) <= 64 && !keys.caseVariant {
				t.Fatalf("rejected what encoding/json accepts: %v\n%q", err, data)
			}
			return
		}
		if headErr != nil {
			t.Fatalf("DecodeChangeHead rejects an accepted change: %v\n%q", headErr, data)
		}
		if !keys.repeated {
			want := schemas.ChangeHead{WorkspaceID: got.WorkspaceID, LeadKey: got.LeadKey,
				SessionKey: got.SessionKey, EventID: got.EventID}
			if h != want {
				t.Fatalf("head %+v, want %+v\n%q", h, want, data)
			}
		}
		if stdErr != nil {
			if !keys.caseVariant {
				t.Fatalf("encoding/json rejects an accepted change: %v\n%q", stdErr, data)
			}
		} else if !keys.repeated && !keys.caseVariant && !reflect.DeepEqual(got, std) {
			t.Fatalf("encoding/json reads differently:\n ours %+v\n std  %+v\n%q", got, std, data)
		}

		// Re-encoding: Timestamp writes years outside 0000-9999 in a form it
		// does not read back, and time.Time does not write zones of 24 hours
		// or more (which it reads: +24:59 parses), so such changes are left
		// out.
		y1, y2 := got.Lead.FirstSeen.UTC().Year(), got.Lead.LastSeen.UTC().Year()
		if _, zone := got.EventTime.Zone(); y1 < 0 || y1 > 9999 || y2 < 0 || y2 > 9999 || zone <= -24*3600 || zone >= 24*3600 {
			return
		}
		enc := encodeChange(t, &got)
		again, err := decodeChange(enc)
		if err != nil {
			t.Fatalf("re-encoded change rejected: %v\n%s", err, enc)
		}
		if enc2 := encodeChange(t, &again); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs:\n%s\n%s", enc, enc2)
		}
	})
}

// keyOddities says how a document's keys differ from the shape's.
type keyOddities struct {
	// repeated: a key appears twice in one object.
	repeated bool
	// caseVariant: a key is a known key in another case (encoding/json
	// decodes it, the hand-written decoder skips it).
	caseVariant bool
}

// knownKeys are the JSON keys of the lead change's shape.
var knownKeys = func() []string {
	var keys []string
	for _, v := range []any{schemas.LeadChange{}, schemas.LeadStats{}, schemas.SessionFacts{}, schemas.Lead{},
		schemas.Session{}, schemas.Pageview{}, schemas.Location{}, schemas.Company{}, schemas.Geo{},
		schemas.Profiles{}, schemas.Profile{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			keys = append(keys, name)
		}
	}
	return keys
}()

// oddKeys walks the valid JSON document data and reports its key oddities.
func oddKeys(data []byte) keyOddities {
	var odd keyOddities
	dec := encjson.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next token of an object is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break // the end (data is valid JSON)
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := &stack[n-1]
			if d, ok := tok.(encjson.Delim); ok && d == '}' {
				stack = stack[:n-1]
				continue
			}
			if top.key {
				k := tok.(string)
				odd.repeated = odd.repeated || top.keys[k]
				top.keys[k] = true
				for _, known := range knownKeys {
					if k != known && strings.EqualFold(k, known) {
						odd.caseVariant = true
					}
				}
				top.key = false
				continue
			}
			top.key = true // this token is a value (or opens one)
		}
		switch tok {
		case encjson.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, object: true, key: true})
		case encjson.Delim('['):
			stack = append(stack, frame{})
		case encjson.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
	return odd
}

// maxDepth returns how deep containers nest in data (strings skipped).
func maxDepth(data []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

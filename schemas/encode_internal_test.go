package schemas

import (
	"bytes"
	encjson "encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

// stdString encodes s with encoding/json without HTML escaping.
func stdString(s string) []byte {
	var buf bytes.Buffer
	enc := encjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and backslash \`, "a/b", "&<>", "tab\tnl\ncr\r", "\b\f\x00\x1f\x7f",
		"héllo wörld", "😀", "\u2028\u2029", "bad \xff utf8", "\xed\xa0\x80", "trailing \xe2\x82",
	} {
		got := appendString(nil, s)
		if want := stdString(s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "é", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if !utf8.Valid(got) || !encjson.Valid(got) {
			t.Fatalf("appendString(%q) = %q is not valid JSON", s, got)
		}
		if want := stdString(s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1, -1, 22.85, 63.216671, 7867000, 1e20, 1e21, 123456789e15, 1e-6, 1e-7,
		-0.000000123, 0.1, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 51.5072, -0.1276,
	} {
		want, err := encjson.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, f); !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, encoding/json = %s", f, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := appendFloat(nil, f); string(got) != "null" {
			t.Errorf("appendFloat(%v) = %s, want null", f, got)
		}
	}
}

func TestAppendDigits(t *testing.T) {
	for _, tc := range []struct {
		v, width int
		want     string
	}{{0, 1, "0"}, {5, 2, "05"}, {123, 2, "123"}, {7, 6, "000007"}, {2024, 4, "2024"}, {999999, 6, "999999"}} {
		if got := string(appendDigits(nil, tc.v, tc.width)); got != tc.want {
			t.Errorf("appendDigits(%d, %d) = %q, want %q", tc.v, tc.width, got, tc.want)
		}
	}
}

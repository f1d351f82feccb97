package schemas

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseSessionTimeMatchesTimePackage checks the fast path against
// time.ParseInLocation: every day of four years around leap-year rules, odd
// clock values, and random strings near the layout.
func TestParseSessionTimeMatchesTimePackage(t *testing.T) {
	check := func(text string) {
		t.Helper()
		got, gotErr := parseSessionTime(text)
		want, wantErr := time.ParseInLocation(SessionTimeLayout, text, time.UTC)
		if !reflect.DeepEqual(got, want) || (gotErr == nil) != (wantErr == nil) ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("%q: got %v, %v; want %v, %v", text, got, gotErr, want, wantErr)
		}
	}
	for _, year := range []int{0, 4, 100, 1900, 1970, 2000, 2023, 2024, 2100, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				check(formatFields(year, month, day, 23, 59, 59))
			}
		}
	}
	for _, s := range []string{"2024-05-15 24:00:00", "2024-05-15 23:60:00", "2024-05-15 23:59:60",
		"2024-05-15 10:55:50", "2024-05-15T10:55:50", "2024-05-15 10:55:5x", "2024-05-15 10:55:50.5",
		"-024-05-15 10:55:50", "2024-5-15 10:55:50", "2024-05-15 1:55:50 ", "", "0000-01-01 00:00:00"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789 -:T.x"
	b := []byte("2024-05-15 10:55:50")
	for range 200000 {
		copy(b, "2024-05-15 10:55:50")
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
}

func formatFields(year, month, day, hour, minute, sec int) string {
	d := func(v, n int) string {
		b := appendDigits(nil, v, n)
		return string(b[len(b)-n:])
	}
	return d(year, 4) + "-" + d(month, 2) + "-" + d(day, 2) + " " + d(hour, 2) + ":" + d(minute, 2) + ":" + d(sec, 2)
}

// TestScanStringWordAtATime puts every byte value, and every pair of ASCII
// values, at every place of a string long enough for scanString's
// word-at-a-time loop, and checks where it stops and why.
func TestScanStringWordAtATime(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	check := func(body []byte) {
		t.Helper()
		want, wantReason := string(body), ""
		for i, c := range body {
			if plain(c) {
				continue
			}
			switch {
			case c == '"':
				want = string(body[:i])
			case c == '\\':
				want, wantReason = "", "invalid escape in string" // a backslash followed by 'a' or a special byte
				if i+1 == len(body) || (body[i+1] == '"' || body[i+1] == '\\' || body[i+1] == 'b' || body[i+1] == 'f' ||
					body[i+1] == 'n' || body[i+1] == 'r' || body[i+1] == 't' || body[i+1] == '/' || body[i+1] == 'u') {
					return // escapes are scanEscaped's; not this test's
				}
			case c < 0x20:
				want, wantReason = "", "control character in string"
			default:
				want, wantReason = "", "invalid UTF-8 in string" // lone bytes here
			}
			break
		}
		sc := scanner{src: `"` + string(body) + `"`}
		got, reason := sc.scanString()
		if got != want || reason != wantReason {
			t.Fatalf("%q: got %q, %q; want %q, %q", body, got, reason, want, wantReason)
		}
	}
	for n := 8; n <= 24; n++ {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				check(b)
			}
		}
	}
	for c1 := range 128 {
		for c2 := range 128 {
			check([]byte{'a', 'b', 'c', byte(c1), byte(c2), 'd', 'e', 'f', 'g', 'h', 'i'})
		}
	}
}

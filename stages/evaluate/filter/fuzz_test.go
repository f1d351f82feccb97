package filter

import (
	"errors"
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

// FuzzCompile checks that Compile never panics, that it fails only with a
// *Error, and that every filter it accepts evaluates without panicking,
// deterministically, on changes with and without values.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`{"all": [{"field": "company.industry", "op": "in", "value": ["Machinery"]}]}`,
		`{"any": [{"field": "session.pageviews.path", "op": "not_contains", "value": "/careers"}, {"not": {"all": []}}]}`,
		`{"field": "company.founded_year", "op": "between", "value": ["1990", 2000]}`,
		`{"field": "lead.first_seen", "op": "gte", "value": "2024-05-15"}`,
		`{"field": "session.pageviews.url", "op": "matches", "value": "(?i)pricing|demo"}`,
		`{"field": "company.name", "op": "in", "value": ["a","b","c","d","e","f","g","h","i","j"]}`,
		`{"field": "lead.id", "op": "in", "value": [1,2,3,4,5,6,7,8,9,10]}`,
		`{"field": "company.geo.city", "op": "contains", "value": "\u212a\u017f"}`,
		`{"field": "company.annual_revenue", "op": "exists", "value": null}`,
		`{"all": [], "any": []}`,
		`{"not": {"not": {"not": {}}}}`,
		`[1, 2, {"a": null}]`,
		`{"field": "lead.id", "op": "between", "value": [1e308, -1e308]}`,
		`"`,
	} {
		f.Add([]byte(seed))
	}
	changes := []*schemas.LeadChange{guideChange(), fullChange(), bareChange(), noPageviewsChange(), browsingChange()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		flt, err := Compile(raw)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Path == "" || fe.Msg == "" {
				t.Fatalf("Compile error %T %v is not a *Error with a path and a message", err, err)
			}
			return
		}
		for _, ch := range changes {
			if flt.Match(ch) != flt.Match(ch) {
				t.Fatalf("Match is not deterministic for %s", raw)
			}
		}
	})
}

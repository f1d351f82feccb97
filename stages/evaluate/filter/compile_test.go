package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCompileErrors checks that every kind of mistake is rejected with the
// path of the place in the tree and a message that says what is wrong.
func TestCompileErrors(t *testing.T) {
	cond := func(field, op, value string) string {
		return fmt.Sprintf(`{"field": %q, "op": %q, "value": %s}`, field, op, value)
	}
	inAll := func(nodes ...string) string { return `{"all": [` + strings.Join(nodes, ", ") + `]}` }
	ok := cond("lead.id", "eq", "1")
	nums := make([]string, MaxListValues+1)
	for i := range nums {
		nums[i] = fmt.Sprint(i)
	}
	cases := []struct {
		name, raw, path, msg string
	}{
		// Document.
		{"invalid JSON", `{"all": [}`, "filter", "invalid JSON"},
		{"truncated JSON", `{"all": [`, "filter", "unexpected end of JSON"},
		{"empty input", ``, "filter", "unexpected end of JSON"},
		{"trailing data", `{"all": []} {}`, "filter", "unexpected data after the filter"},
		{"too large", `{"all": [` + strings.Repeat(" ", MaxBytes) + `]}`, "filter", "limit is 1048576 (MaxBytes)"},
		{"JSON too deep", strings.Repeat("[", 200) + strings.Repeat("]", 200), "filter", "nested deeper than"},

		// Shape of nodes.
		{"root array", `[` + ok + `]`, "filter", "want an object"},
		{"root null", `null`, "filter", "got null"},
		{"empty object", `{}`, "filter", "empty object"},
		{"group and condition", `{"all": [], "field": "lead.id"}`, "filter", `has both "all" and "field"`},
		{"condition and group", `{"op": "eq", "any": []}`, "filter", `has both "any" and "op"`},
		{"two groups", `{"all": [], "any": []}`, "filter", `has both "all" and "any"`},
		{"all not an array", `{"all": {}}`, "filter.all", "want an array of conditions and groups, got an object"},
		{"any null", `{"any": null}`, "filter.any", "got null"},
		{"not an array", `{"not": [` + ok + `]}`, "filter.not", "want an object"},
		{"string in all", `{"all": [` + ok + `, "lead.id"]}`, "filter.all[1]", "got a string"},
		{"unknown key in group", `{"all": [], "limit": 3}`, "filter.limit", `unknown key "limit"`},
		{"unknown key in condition", inAll(`{"field": "lead.id", "op": "eq", "value": 1, "negate": true}`),
			"filter.all[0].negate", `unknown key "negate"`},
		{"duplicate key", `{"field": "lead.id", "field": "lead.id", "op": "eq", "value": 1}`, "filter.field", "duplicate key"},
		{"too deep", strings.Repeat(`{"not": `, MaxDepth) + ok + strings.Repeat(`}`, MaxDepth),
			"filter" + strings.Repeat(".not", MaxDepth), "nested deeper than 16 levels (MaxDepth)"},
		{"too many nodes", `{"any": [` + strings.TrimSuffix(strings.Repeat(ok+",", MaxNodes), ",") + `]}`,
			fmt.Sprintf("filter.any[%d]", MaxNodes-1), "more than 256 nodes (MaxNodes)"},

		// Field and operator.
		{"missing field", inAll(`{"op": "eq", "value": 1}`), "filter.all[0].field", "missing"},
		{"field not a string", inAll(`{"field": 3, "op": "eq", "value": 1}`), "filter.all[0].field", "got a number"},
		{"unknown field, typo", inAll(ok, cond("company.industy", "eq", `"x"`)), "filter.all[1].field",
			`unknown field "company.industy"; did you mean "company.industry"?`},
		{"unknown field, no prefix", cond("industry", "eq", `"x"`), "filter.field", `did you mean "company.industry"?`},
		{"unknown field, far off", cond("favourite_colour", "eq", `"x"`), "filter.field", `unknown field "favourite_colour"; fields are`},
		{"phone is not on leads", cond("company.phone", "eq", `"x"`), "filter.field", `unknown field "company.phone"`},
		{"missing op", `{"field": "lead.id", "value": 1}`, "filter.op", "missing"},
		{"op not a string", `{"field": "lead.id", "op": null, "value": 1}`, "filter.op", "got null"},
		{"unknown op", cond("lead.id", "equals", "1"), "filter.op", `unknown operator "equals"; operators are eq, neq`},
		{"unknown op, typo", cond("lead.id", "betwen", "[1, 2]"), "filter.op", `did you mean "between"?`},
		{"op for another type: contains on a number", cond("lead.sessions_count", "contains", `"3"`), "filter.op",
			`operator "contains" does not apply to number field "lead.sessions_count"; its operators are eq, neq, in`},
		{"op for another type: gt on a string", cond("company.industry", "gt", `"M"`), "filter.op", "does not apply to string field"},
		{"op for another type: eq on a time", cond("lead.first_seen", "eq", `"2024-05-15T10:55:50Z"`), "filter.op",
			"does not apply to time field"},

		// Values.
		{"missing value", `{"field": "company.industry", "op": "eq"}`, "filter.value", `missing: eq on "company.industry" needs a non-empty string`},
		{"exists with a value", `{"field": "company.industry", "op": "exists", "value": true}`, "filter.value", "exists takes no value"},
		{"not_exists with a value", `{"field": "company.industry", "op": "not_exists", "value": "x"}`, "filter.value", "not_exists takes no value"},
		{"gt with a string on a number", cond("lead.sessions_count", "gt", `"3"`), "filter.value",
			`gt on "lead.sessions_count" needs a number, got a string`},
		{"eq with a number on a string", cond("company.industry", "eq", "3"), "filter.value", "needs a non-empty string, got a number"},
		{"eq with null", cond("company.industry", "eq", "null"), "filter.value", "got null"},
		{"eq with an empty string", cond("company.industry", "eq", `""`), "filter.value", "empty string: use exists or not_exists"},
		{"contains with an array", cond("company.industry", "contains", `["a"]`), "filter.value", "got an array"},
		{"in without an array", cond("company.industry", "in", `"Machinery"`), "filter.value", "needs a non-empty array"},
		{"in empty", cond("company.industry", "in", `[]`), "filter.value", "at least one value"},
		{"in with a wrong element", inAll(ok, cond("company.industry", "in", `["a", 2]`)), "filter.all[1].value[1]", "got a number"},
		{"in with an empty string", cond("company.industry", "not_in", `["a", ""]`), "filter.value[1]", "empty string"},
		{"in numbers with a string", cond("lead.id", "in", `[1, "2"]`), "filter.value[1]", "got a string"},
		{"in too long", cond("lead.id", "in", "["+strings.Join(nums, ",")+"]"), "filter.value", "1001 values; the limit is 1000 (MaxListValues)"},
		{"between not an array", cond("lead.id", "between", "1"), "filter.value", "needs [lo, hi]"},
		{"between one number", cond("lead.id", "between", "[1]"), "filter.value", "got an array of 1 value"},
		{"between three numbers", cond("lead.id", "between", "[1, 2, 3]"), "filter.value", "got an array of 3 values"},
		{"between strings", cond("lead.id", "between", `["1", 2]`), "filter.value[0]", "got a string"},
		{"between lo > hi", cond("lead.id", "between", "[5, 1]"), "filter.value", "lo <= hi, got [5, 1]"},
		{"number out of range", cond("company.annual_revenue", "gt", "1e999"), "filter.value", "out of range"},
		{"matches invalid regexp", cond("session.pageviews.path", "matches", `"^/(careers"`), "filter.value", "invalid regexp: missing closing )"},
		{"matches too long", cond("session.pageviews.path", "matches", `"`+strings.Repeat("a", MaxRegexpBytes+1)+`"`),
			"filter.value", "limit is 1024 (MaxRegexpBytes)"},
		{"matches empty", cond("session.pageviews.path", "matches", `""`), "filter.value", "empty regexp"},
		{"matches a number", cond("company.founded_year", "matches", `1991`), "filter.value", "got a number"},
		{"time not a time", cond("lead.first_seen", "gt", `"yesterday"`), "filter.value", `"yesterday" is not a time`},
		{"time without zone", cond("lead.first_seen", "gt", `"2024-05-15T10:55:50"`), "filter.value", "is not a time"},
		{"time out of range", cond("lead.first_seen", "gt", `1e12`), "filter.value", "outside the years 0001 to 9999"},
		{"time a boolean", cond("session.started_at", "lt", `true`), "filter.value", "got a boolean"},
		{"time between lo > hi", cond("lead.first_seen", "between", `["2024-06-01", "2024-05-01"]`), "filter.value", "lo <= hi"},
		{"time between bad element", cond("lead.first_seen", "between", `["2024-06-01", "june"]`), "filter.value[1]", "is not a time"},
		{"year not a year", cond("company.founded_year", "gt", `"nineteen"`), "filter.value", `"nineteen" is not a year`},
		{"year list mixes numbers and strings", cond("company.founded_year", "in", `[1990, "1991"]`), "filter.value[1]", "mixes numbers and strings"},
		{"year list mixes strings and numbers", cond("company.founded_year", "in", `["1990", 1991]`), "filter.value[1]", "mixes numbers and strings"},
		{"deep path", `{"all": [` + ok + `, {"any": [` + cond("company.name", "eq", "3") + `]}]}`, "filter.all[1].any[0].value", "got a number"},
		{"path through not", `{"not": {"any": [` + ok + `, {"field": "lead.id", "op": "gte"}]}}`, "filter.not.any[1].value", "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile([]byte(tc.raw))
			if err == nil {
				t.Fatalf("Compile accepted it: %v", f)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			if fe.Path != tc.path || fe.FieldPath() != tc.path {
				t.Errorf("path = %q, want %q (%v)", fe.Path, tc.path, err)
			}
			if !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", fe.Msg, tc.msg)
			}
			if err.Error() != fe.Path+": "+fe.Msg {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestCompileAccepts checks the liberal forms that are not ambiguous.
func TestCompileAccepts(t *testing.T) {
	for _, raw := range []string{
		`{"field": "lead.id", "op": "exists"}`,
		`{"field": "lead.id", "op": "exists", "value": null}`,
		`{"value": 1, "op": "eq", "field": "lead.id"}`,
		`{"not": {"field": "lead.id", "op": "eq", "value": 1}}`,
		`{"all": []}`,
		`{"any": []}`,
		` {"all": [ ]} ` + "\n",
		`{"field": "company.industry", "op": "in", "value": ["Machinery", "machinery"]}`,
		`{"field": "company.founded_year", "op": "between", "value": ["1990", 2000]}`,
		`{"field": "lead.first_seen", "op": "between", "value": ["2024-05-01", 1717200000]}`,
		`{"field": "session.started_at", "op": "gte", "value": "2024-05-15 10:55:50"}`,
		`{"field": "lead.total_duration", "op": "between", "value": [60, 60]}`,
		`{"field": "session.pageviews.path", "op": "matches", "value": "` + strings.Repeat("a", MaxRegexpBytes) + `"}`,
		`{"any": [` + strings.TrimSuffix(strings.Repeat(`{"field": "lead.id", "op": "eq", "value": 1},`, MaxNodes-1), ",") + `]}`,
	} {
		if _, err := Compile([]byte(raw)); err != nil {
			t.Errorf("Compile(%.80s): %v", raw, err)
		}
	}
}

package bench

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
)

// TestDefaultRulesReveal: the first four kinds are as before (so the
// default 3 automations did not change), the fifth reveals sales leaders
// on the first segment, and only its first turn reveals (so any count up
// to the 64 allowed validates).
func TestDefaultRulesReveal(t *testing.T) {
	three := DefaultRules(3)
	want := []traffic.Rule{{Trigger: schemas.EventNewLead}, {Trigger: schemas.EventNewSession},
		{Trigger: schemas.EventNewLead, Industries: []string{"Software", "Information Technology & Services", "Financial Services"}}}
	if !reflect.DeepEqual(three, want) {
		t.Fatalf("DefaultRules(3) = %+v", three)
	}
	five := DefaultRules(5)
	rv := five[4]
	if rv.Reveal == nil || rv.Trigger != schemas.EventNewLead || !reflect.DeepEqual(rv.Industries, want[2].Industries) || rv.Reveal.Limit != 2 ||
		!reflect.DeepEqual(rv.Reveal.Seniorities, []string{"vp", "director", "c_level"}) || !reflect.DeepEqual(rv.Reveal.Departments, []string{"sales", "executive"}) {
		t.Fatalf("rule 5 %+v (reveal %+v)", rv, rv.Reveal)
	}
	if d := describeRule(rv); !strings.Contains(d, "reveal_contacts") || !strings.Contains(d, "at most 2 per company") {
		t.Fatalf("describeRule: %q", d)
	}
	// The admin API refuses names over 200 characters; the reveal rule's
	// description is longer.
	if n := automationName(4, rv); len(n) > maxNameLen || !utf8.ValidString(n) || !strings.HasPrefix(n, "bench #5: new_lead on industry") {
		t.Fatalf("automation name (%d bytes) %q", len(n), n)
	}
	if n := automationName(0, five[0]); n != "bench #1: new_lead for every lead" {
		t.Fatalf("automation name %q", n)
	}
	rules := DefaultRules(64)
	reveals := 0
	for _, r := range rules {
		if r.Reveal != nil {
			reveals++
		}
	}
	if reveals != 1 || rules[9].Trigger != schemas.EventNewLead || rules[9].Reveal != nil {
		t.Fatalf("%d reveal rules in DefaultRules(64), rule 10 %+v", reveals, rules[9])
	}
	if err := (Options{AutomationsPerWorkspace: 64}).withDefaults().validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateRevealRules: a reveal rule must be new_lead, its limit in
// range, and there may be only one.
func TestValidateRevealRules(t *testing.T) {
	reveal := func(trigger string, limit int) traffic.Rule {
		return traffic.Rule{Trigger: trigger, Reveal: &traffic.Reveal{Seniorities: []string{"vp"}, Limit: limit}}
	}
	for name, tc := range map[string]struct {
		rules []traffic.Rule
		err   string
	}{
		"one":             {[]traffic.Rule{{Trigger: schemas.EventNewSession}, reveal(schemas.EventNewLead, 0)}, ""},
		"two":             {[]traffic.Rule{reveal(schemas.EventNewLead, 2), reveal(schemas.EventNewLead, 1)}, "at most one rule may reveal"},
		"on new_session":  {[]traffic.Rule{reveal(schemas.EventNewSession, 2)}, "must have the trigger new_lead"},
		"negative limit":  {[]traffic.Rule{reveal(schemas.EventNewLead, -1)}, "reveal limit -1"},
		"limit too large": {[]traffic.Rule{reveal(schemas.EventNewLead, traffic.MaxRevealLimit+1)}, "reveal limit 1001"},
	} {
		err := Options{Rules: tc.rules}.withDefaults().validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.err != "" && (!errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.err)
		}
	}
}

package traffic

import (
	"errors"
	"iter"
	"testing"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// contactsOf yields recs, then err if not nil.
func contactsOf(err error, recs ...dataset.ContactRecord) iter.Seq2[dataset.ContactRecord, error] {
	return func(yield func(dataset.ContactRecord, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			yield(dataset.ContactRecord{}, err)
		}
	}
}

// TestRevealsHandChecked works a small example out by hand: which
// contacts fit (lists compared case-insensitively after trimming), the
// counts per company, the limit, and contacts of unknown companies.
func TestRevealsHandChecked(t *testing.T) {
	d := tinyData(t) // company 0 a.example, 1 b.example
	rules := []Rule{
		{Trigger: schemas.EventNewLead},
		{Trigger: schemas.EventNewLead, Reveal: &Reveal{Seniorities: []string{" VP ", "c_level", ""}, Departments: []string{"Sales"}, Limit: 1}},
	}
	c := func(email, seniority, department string) dataset.ContactRecord {
		return dataset.ContactRecord{Email: email, CompanyDomain: email[len(email)-len("x.example"):], Seniority: seniority, Department: department}
	}
	rv, err := NewReveals(d, rules, contactsOf(nil,
		c("a1@a.example", "vp", "sales"),          // fits
		c("a2@a.example", "c_level", "executive"), // department
		c("a3@a.example", "director", "sales"),    // seniority
		c("A4@a.example", "c_level", "sales"),     // fits
		c("b1@b.example", "c_level", "sales"),     // fits
		c("z1@z.example", "vp", "sales"),          // no such company
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rule, company, fitting int }{{1, 0, 2}, {1, 1, 1}, {0, 0, 0}, {0, 1, 0}} {
		if got := rv.Fitting(tc.rule, tc.company); got != tc.fitting {
			t.Errorf("Fitting(%d, %d) = %d, want %d", tc.rule, tc.company, got, tc.fitting)
		}
	}
	if got := rules[1].Reveal.Expect(2); got != 1 {
		t.Errorf("Expect(2) with limit 1 = %d", got)
	}
	if got := (&Reveal{}).Expect(7); got != 7 {
		t.Errorf("Expect(7) without limit = %d", got)
	}
	for _, tc := range []struct {
		rule    int
		email   string
		company int
		ok      bool
	}{
		{1, "a1@a.example", 0, true},
		{1, "A1@A.EXAMPLE", 0, true}, // emails compare in any case
		{1, "a4@a.example", 0, true},
		{1, "b1@b.example", 1, true},
		{1, "a2@a.example", 0, false},
		{1, "a3@a.example", 0, false},
		{1, "z1@z.example", 0, false},
		{0, "a1@a.example", 0, false}, // rule 0 reveals nothing
	} {
		if company, ok := rv.Contact(tc.rule, tc.email); ok != tc.ok || ok && company != tc.company {
			t.Errorf("Contact(%d, %s) = %d %v, want %d %v", tc.rule, tc.email, company, ok, tc.company, tc.ok)
		}
	}
	bad := errors.New("line 3: bad json")
	if _, err := NewReveals(d, rules, contactsOf(bad, c("a1@a.example", "vp", "sales"))); !errors.Is(err, bad) {
		t.Fatalf("a bad contacts file: %v", err)
	}
}

// TestLoadRevealsNeedsContacts: without a reveal rule nothing is read; with
// one, Data built without a data set directory is an error that says so.
func TestLoadRevealsNeedsContacts(t *testing.T) {
	d := tinyData(t)
	rv, err := LoadReveals(d, []Rule{{Trigger: schemas.EventNewLead}})
	if err != nil || rv.Fitting(0, 0) != 0 {
		t.Fatalf("no reveal rule: %v", err)
	}
	if _, err := LoadReveals(d, []Rule{{Trigger: schemas.EventNewLead, Reveal: &Reveal{}}}); err == nil {
		t.Fatal("a reveal rule without a contacts file loaded")
	}
}

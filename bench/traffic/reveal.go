package traffic

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"path/filepath"
	"strings"

	"github.com/leadflow/leadflow/schemas/dataset"
)

// MaxRevealLimit is the largest Reveal.Limit (the admin API's bound).
const MaxRevealLimit = 1000

// Reveal is the reveal_contacts action of a Rule: when the rule's new_lead
// fires, the pipeline reveals the contacts of the lead's company that fit
// the persona, at most Limit of them (DESIGN 1.5), and sends each to the
// rule's webhook as a contact_revealed subject. The persona has no job
// titles and no countries.
type Reveal struct {
	// Seniorities and Departments are the persona's lists (compared
	// case-insensitively, as the evaluate stage's persona does); an empty
	// list allows any value.
	Seniorities, Departments []string
	// Limit is the reveal limit per company, 1 to MaxRevealLimit; 0 means
	// no limit (as in the admin API).
	Limit int
}

// Fits reports whether contact c fits the persona: its seniority is one of
// Seniorities and its department one of Departments (each unless empty),
// compared case-insensitively after trimming the lists' values, as
// stages/evaluate's persona.fits does.
func (r *Reveal) Fits(c *dataset.ContactRecord) bool {
	return inFold(r.Seniorities, c.Seniority) && inFold(r.Departments, c.Department)
}

// Expect returns how many of a company's fitting contacts the action
// reveals: all of them, at most Limit.
func (r *Reveal) Expect(fitting int) int {
	if r.Limit > 0 {
		return min(fitting, r.Limit)
	}
	return fitting
}

// inFold reports whether set is empty (after dropping blank values) or
// holds v, ignoring case.
func inFold(set []string, v string) bool {
	some := false
	for _, s := range set {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		some = true
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return !some
}

// Reveals is what checking the reveal rules of a rule set needs of the
// contacts file: per reveal rule, how many contacts of each company fit
// its persona, and which company each fitting contact works at. Contacts
// that fit no reveal rule are not kept, and nothing is kept without a
// reveal rule. Build it once per rule set (LoadReveals); it is read-only
// and safe for concurrent use.
type Reveals struct {
	// fitting[rule][company] counts the company's contacts that fit the
	// rule's persona; nil for rules without a reveal action.
	fitting [][]uint16
	// byEmail maps the lower-cased email of every contact that fits some
	// reveal rule to its company and the rules it fits.
	byEmail map[string]revealContact
}

// revealContact is one contact of Reveals.
type revealContact struct {
	company int32
	rules   uint64 // bit i: fits the persona of rule i
}

// maxRevealRules bounds the rules Reveals can index (a bit each).
const maxRevealRules = 64

// LoadReveals reads the contacts file of the data set d was loaded from
// (LoadData) and indexes it for rules. Without a rule that has a reveal
// action it reads nothing.
func LoadReveals(d *Data, rules []Rule) (*Reveals, error) {
	if !hasReveal(rules) {
		return NewReveals(d, rules, nil)
	}
	if d.dir == "" {
		return nil, errors.New("traffic: a reveal rule needs the data set's contacts file: load the data with LoadData")
	}
	return NewReveals(d, rules, dataset.ReadContacts(filepath.Join(d.dir, dataset.ContactsFile)))
}

// NewReveals indexes contacts for the reveal rules of rules. Contacts of
// companies that are not in d (no business network) are skipped; contacts
// may be nil when no rule reveals.
func NewReveals(d *Data, rules []Rule, contacts iter.Seq2[dataset.ContactRecord, error]) (*Reveals, error) {
	if len(rules) > maxRevealRules {
		return nil, fmt.Errorf("traffic: %d rules: at most %d can be indexed for reveals", len(rules), maxRevealRules)
	}
	rv := &Reveals{fitting: make([][]uint16, len(rules)), byEmail: map[string]revealContact{}}
	if !hasReveal(rules) {
		return rv, nil
	}
	for i, r := range rules {
		if r.Reveal != nil {
			rv.fitting[i] = make([]uint16, len(d.Companies))
		}
	}
	for c, err := range contacts {
		if err != nil {
			return nil, fmt.Errorf("traffic: reading contacts: %w", err)
		}
		company, ok := d.CompanyIndex(c.CompanyDomain)
		if !ok {
			continue
		}
		var fits uint64
		for i, r := range rules {
			if r.Reveal != nil && r.Reveal.Fits(&c) {
				fits |= 1 << i
				if rv.fitting[i][company] < math.MaxUint16 {
					rv.fitting[i][company]++
				}
			}
		}
		if fits != 0 {
			rv.byEmail[strings.ToLower(c.Email)] = revealContact{company: int32(company), rules: fits}
		}
	}
	return rv, nil
}

// hasReveal reports whether a rule of rules has a reveal action.
func hasReveal(rules []Rule) bool {
	for _, r := range rules {
		if r.Reveal != nil {
			return true
		}
	}
	return false
}

// Fitting returns how many contacts of company fit the persona of rule (0
// for a rule without a reveal action).
func (rv *Reveals) Fitting(rule, company int) int {
	if rule >= len(rv.fitting) || rv.fitting[rule] == nil {
		return 0
	}
	return int(rv.fitting[rule][company])
}

// Contact returns the company of the contact with email (any case) if the
// contact fits the persona of rule; ok is false for an email that is not a
// contact of the data set's companies or does not fit.
func (rv *Reveals) Contact(rule int, email string) (company int, ok bool) {
	c, found := rv.byEmail[strings.ToLower(email)]
	if !found || rule < 0 || rule >= maxRevealRules || c.rules&(1<<rule) == 0 {
		return 0, false
	}
	return int(c.company), true
}

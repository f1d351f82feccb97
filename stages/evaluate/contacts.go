package evaluate

import (
	"context"
	"slices"
	"strings"

	"github.com/leadflow/leadflow/schemas/dataset"
)

// Contacts is the contact provider: the people of a company that a
// reveal_contacts automation can reveal. The local provider reads the
// data set's contacts file; an external provider (an enrichment API)
// implements the same method, caching as it sees fit. Contacts must
// return the same contacts in the same order for the same domain, so that
// a replay chooses the same people.
type Contacts interface {
	Contacts(ctx context.Context, domain string) ([]dataset.ContactRecord, error)
}

// LocalContacts is the contact provider over a loaded contacts file.
type LocalContacts map[string][]dataset.ContactRecord

// Contacts returns the contacts of domain.
func (l LocalContacts) Contacts(_ context.Context, domain string) ([]dataset.ContactRecord, error) {
	return l[domain], nil
}

// persona is a compiled persona: lower-cased title keywords and sets.
type persona struct {
	titles      []string
	seniorities []string
	departments []string
	countries   []string
}

func compilePersona(titles, seniorities, departments, countries []string) persona {
	lower := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return persona{titles: lower(titles), seniorities: lower(seniorities), departments: lower(departments), countries: lower(countries)}
}

// fits reports whether c fits the persona: every non-empty criterion must
// hold; a job title fits when it contains any of the keywords (case
// insensitive, "VP" fits "VP, Sales").
func (p persona) fits(c *dataset.ContactRecord) bool {
	if len(p.titles) > 0 {
		if c.Title == nil {
			return false
		}
		title := strings.ToLower(*c.Title)
		if !slices.ContainsFunc(p.titles, func(k string) bool { return strings.Contains(title, k) }) {
			return false
		}
	}
	in := func(set []string, v string) bool {
		return len(set) == 0 || slices.Contains(set, strings.ToLower(v))
	}
	return in(p.seniorities, c.Seniority) && in(p.departments, c.Department) && in(p.countries, c.CountryCode)
}

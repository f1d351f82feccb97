package sampledata

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/schemas"
)

// genCompany is a generated company with what its contacts and networks
// are derived from.
type genCompany struct {
	company   schemas.Company
	country   *country
	city      *city
	shortName string // name without legal suffix, for headlines
	employees int    // typical head count of the range; 0 if unknown
}

// pickWeighted returns an index into a list with the given weights.
func pickWeighted(r *rand.Rand, n int, weight func(i int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	x := r.IntN(total)
	for i := range n {
		if x -= weight(i); x < 0 {
			return i
		}
	}
	return n - 1
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// chance returns true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// fillPattern expands a postal code pattern ('#' digit, '@' letter).
func fillPattern(r *rand.Rand, pattern string) string {
	b := []byte(pattern)
	for i, c := range b {
		switch c {
		case '#':
			b[i] = byte('0' + r.IntN(10))
		case '@':
			b[i] = byte('A' + r.IntN(26))
		}
	}
	return string(b)
}

// slug lower-cases s and keeps ASCII letters and digits (diacritics are
// folded, everything else dropped).
func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b.WriteRune(c)
		default:
			if f, ok := foldDiacritic(c); ok {
				b.WriteString(f)
			}
		}
	}
	return b.String()
}

// foldDiacritic maps the accented letters of the vocabulary to ASCII.
func foldDiacritic(c rune) (string, bool) {
	switch c {
	case 'ä', 'á', 'à', 'â', 'å':
		return "a", true
	case 'ö', 'ó', 'ô', 'ø':
		return "o", true
	case 'ü', 'ú':
		return "u", true
	case 'é', 'è', 'ê', 'ë':
		return "e", true
	case 'í', 'î', 'ï':
		return "i", true
	case 'ç':
		return "c", true
	case 'ñ':
		return "n", true
	case 'ß':
		return "ss", true
	}
	return "", false
}

// newCompany generates one company with a domain not in g.domains.
func (g *generator) newCompany() genCompany {
	r := g.rng
	ctry := &g.v.countries[pickWeighted(r, len(g.v.countries), func(i int) int { return g.v.countries[i].weight })]
	cty := &ctry.cities[r.IntN(len(ctry.cities))]
	ind := &g.v.industries[pickWeighted(r, len(g.v.industries), func(i int) int { return g.v.industries[i].weight })]
	ers := g.v.employeeRanges
	er := ers[pickWeighted(r, len(ers), func(i int) int { return ers[i].weight })]

	base := pick(r, g.v.namePrefixes) + pick(r, g.v.nameStems)
	word := pick(r, ind.nameWords)
	var short, name string
	switch x := r.IntN(100); {
	case x < 40:
		short = base + " " + word
		name = short
	case x < 65:
		short = base + " " + word
		name = short + " " + ctry.legal
	case x < 85:
		short, name = base, base
	default:
		short = base + " Group"
		name = short
	}
	domain := g.uniqueDomain(base, word, ctry)

	c := schemas.Company{Name: name, Domain: domain}
	if chance(r, 0.97) {
		c.Website = new("https://" + domain)
	}
	if chance(r, 0.97) {
		c.Industry = new(ind.name)
	}
	year := 0
	if chance(r, 0.95) {
		switch x := r.IntN(10); {
		case x < 7:
			year = 2000 + r.IntN(23)
		case x < 9:
			year = 1980 + r.IntN(20)
		default:
			year = 1950 + r.IntN(30)
		}
		c.FoundedYear = new(strconv.Itoa(year))
	}
	employees := 0
	if chance(r, 0.96) {
		c.EmployeeRange = new(er.label)
		employees = er.mid
	}
	if employees > 0 && chance(r, 0.65) {
		perHead := 60_000 + r.IntN(290_000)
		c.AnnualRevenue = new(math.Round(float64(employees*perHead)/1000) * 1000)
	}
	if (year >= 2005 && chance(r, 0.45)) || chance(r, 0.08) {
		exp := 5.3 + r.Float64()*3.2 // 200k to 300M
		c.TotalFunding = new(math.Round(math.Pow(10, exp)/10_000) * 10_000)
	}

	postal := fillPattern(r, cty.postal)
	c.Geo = schemas.Geo{
		Country: new(ctry.name), CountryCode: new(ctry.code),
		State: new(cty.state), StateCode: new(cty.stateCode),
		PostalCode: new(postal), City: new(cty.name),
	}
	if chance(r, 0.96) {
		street, num := pick(r, ctry.streets), strconv.Itoa(1+r.IntN(180))
		c.Geo.Street, c.Geo.StreetNumber = new(street), new(num)
		c.Location = new(ctry.addr(num, street, postal, cty.name, cty.stateCode))
	} else {
		c.Location = new(cty.name + ", " + ctry.shortName)
	}
	if chance(r, 0.92) {
		c.Description = new(g.description(short, ind, ctry, cty, year, employees))
	}
	if chance(r, 0.8) {
		var digits strings.Builder
		for range ctry.phoneDigits {
			digits.WriteByte(byte('0' + r.IntN(10)))
		}
		c.Phone = new(ctry.phonePrefix + digits.String())
	}
	c.Profiles = g.profiles(base, word, ctry)
	return genCompany{company: c, country: ctry, city: cty, shortName: short, employees: employees}
}

// uniqueDomain returns the first free domain of a list of candidates.
func (g *generator) uniqueDomain(base, word string, ctry *country) string {
	tld := ctry.tld
	if !chance(g.rng, 0.6) {
		tld = ".com"
	}
	b, w := slug(base), slug(word)
	for _, d := range []string{b + tld, b + w + tld, b + "-" + w + tld, b + w + ".com", b + "-" + w + ".com"} {
		if g.claimDomain(d) {
			return d
		}
	}
	for n := 2; ; n++ {
		if d := b + w + strconv.Itoa(n) + tld; g.claimDomain(d) {
			return d
		}
	}
}

// claimDomain records d as used and reports whether it was free.
func (g *generator) claimDomain(d string) bool {
	if _, used := g.domains[d]; used {
		return false
	}
	g.domains[d] = struct{}{}
	return true
}

// description writes two or three sentences about a company.
func (g *generator) description(short string, ind *industry, ctry *country, cty *city, year, employees int) string {
	r := g.rng
	var b strings.Builder
	b.WriteString(short + " " + pick(r, ind.whats) + " for " + pick(r, ind.audiences) + ".")
	switch {
	case year > 0 && chance(r, 0.6):
		b.WriteString(" Founded in " + strconv.Itoa(year) + ", the company is headquartered in " + cty.name + ", " + ctry.shortName + ".")
	case employees >= 200 && chance(r, 0.5):
		b.WriteString(" With around " + strconv.Itoa(employees) + " people, it serves customers in more than " +
			strconv.Itoa(5+r.IntN(40)) + " countries.")
	default:
		b.WriteString(" The company is headquartered in " + cty.name + ", " + ctry.shortName + ".")
	}
	if chance(r, 0.5) {
		b.WriteString(" Customers choose " + short + " for " +
			pick(r, []string{"reliable delivery", "measurable results", "responsive support",
				"long-term partnerships", "quality and safety", "transparent pricing"}) + ".")
	}
	return b.String()
}

// profiles fills the company's profiles, each present with some chance.
func (g *generator) profiles(base, word string, ctry *country) schemas.Profiles {
	r := g.rng
	b := slug(base)
	prof := func(p float64, handle, urlPrefix string) schemas.Profile {
		if !chance(r, p) {
			return schemas.Profile{}
		}
		return schemas.Profile{Handle: new(handle), URL: new(urlPrefix + handle)}
	}
	linkedin := b
	if chance(r, 0.4) {
		linkedin = b + "-" + slug(ctry.legal)
	}
	twitter := base
	if chance(r, 0.5) {
		twitter = base + word
	}
	return schemas.Profiles{
		Crunchbase: prof(0.5, b, "https://crunchbase.com/organization/"),
		LinkedIn:   prof(0.85, linkedin, "https://linkedin.com/companies/"),
		Facebook:   prof(0.3, b, "https://facebook.com/"),
		Twitter:    prof(0.45, strings.ReplaceAll(twitter, " ", ""), "https://twitter.com/"),
		Instagram:  prof(0.15, b, "https://instagram.com/"),
		YouTube:    prof(0.1, b, "https://youtube.com/@"),
	}
}

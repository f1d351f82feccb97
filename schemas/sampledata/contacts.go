package sampledata

import (
	"strconv"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// weighted is a name with its share.
type weighted struct {
	name   string
	weight int
}

// contactVocab is what generated contacts are drawn from.
type contactVocab struct {
	seniorities, departments []weighted
	// titles maps seniority + "/" + department to the job titles to pick
	// from.
	titles map[string][]string
}

func newContactVocab() contactVocab {
	v := contactVocab{
		seniorities: []weighted{
			{dataset.SeniorityCLevel, 5}, {dataset.SeniorityVP, 8}, {dataset.SeniorityDirector, 15},
			{dataset.SeniorityManager, 25}, {dataset.SenioritySenior, 22}, {dataset.SeniorityEntry, 25},
		},
		departments: []weighted{
			{dataset.DepartmentSales, 22}, {dataset.DepartmentMarketing, 14}, {dataset.DepartmentEngineering, 20},
			{dataset.DepartmentProduct, 8}, {dataset.DepartmentFinance, 9}, {dataset.DepartmentOperations, 11},
			{dataset.DepartmentHR, 6}, {dataset.DepartmentIT, 7}, {dataset.DepartmentLegal, 3},
		},
		titles: map[string][]string{},
	}
	// Per department: its name in titles, then the c_level, manager, senior
	// and entry titles.
	for _, d := range [][6]string{
		{dataset.DepartmentSales, "Sales", "Chief Revenue Officer", "Sales Manager", "Senior Account Executive", "Sales Development Representative"},
		{dataset.DepartmentMarketing, "Marketing", "Chief Marketing Officer", "Marketing Manager", "Senior Marketing Specialist", "Marketing Coordinator"},
		{dataset.DepartmentEngineering, "Engineering", "Chief Technology Officer", "Engineering Manager", "Senior Software Engineer", "Software Engineer"},
		{dataset.DepartmentProduct, "Product", "Chief Product Officer", "Product Manager", "Senior Product Designer", "Associate Product Manager"},
		{dataset.DepartmentFinance, "Finance", "Chief Financial Officer", "Finance Manager", "Senior Accountant", "Accountant"},
		{dataset.DepartmentOperations, "Operations", "Chief Operating Officer", "Operations Manager", "Senior Operations Analyst", "Operations Coordinator"},
		{dataset.DepartmentHR, "People", "Chief People Officer", "HR Manager", "Senior HR Business Partner", "HR Coordinator"},
		{dataset.DepartmentIT, "IT", "Chief Information Officer", "IT Manager", "Senior Systems Administrator", "IT Support Specialist"},
		{dataset.DepartmentLegal, "Legal", "General Counsel", "Legal Counsel", "Senior Legal Counsel", "Paralegal"},
	} {
		dept, word := d[0], d[1]
		v.titles[dataset.SeniorityCLevel+"/"+dept] = []string{d[2]}
		v.titles[dataset.SeniorityVP+"/"+dept] = []string{"VP, " + word}
		v.titles[dataset.SeniorityDirector+"/"+dept] = []string{"Director of " + word, "Head of " + word}
		v.titles[dataset.SeniorityManager+"/"+dept] = []string{d[3]}
		v.titles[dataset.SenioritySenior+"/"+dept] = []string{d[4]}
		v.titles[dataset.SeniorityEntry+"/"+dept] = []string{d[5]}
	}
	return v
}

// contactCount returns how many contacts a company of that size gets (0-20).
func (g *generator) contactCount(employees int) int {
	r := g.rng
	switch {
	case employees == 0:
		return r.IntN(5)
	case employees <= 10:
		return r.IntN(3)
	case employees <= 50:
		return r.IntN(6)
	case employees <= 200:
		return 1 + r.IntN(9)
	case employees <= 500:
		return 3 + r.IntN(11)
	case employees <= 1000:
		return 5 + r.IntN(13)
	}
	return 8 + r.IntN(13)
}

// newContacts generates the contacts of a company; the first one is its CEO.
func (g *generator) newContacts(gc *genCompany) []dataset.ContactRecord {
	r := g.rng
	n := g.contactCount(gc.employees)
	out := make([]dataset.ContactRecord, 0, n)
	emails := make(map[string]struct{}, n)
	for i := range n {
		ctry := gc.country
		if chance(r, 0.15) {
			ctry = &g.v.countries[pickWeighted(r, len(g.v.countries), func(i int) int { return g.v.countries[i].weight })]
		}
		cty := gc.city
		if ctry != gc.country || chance(r, 0.3) {
			cty = &ctry.cities[r.IntN(len(ctry.cities))]
		}
		first, last := pick(r, ctry.firstNames), pick(r, ctry.lastNames)
		seniority, department, title := dataset.SeniorityCLevel, dataset.DepartmentExecutive, "Chief Executive Officer"
		if i == 0 {
			if gc.employees > 0 && gc.employees <= 50 && chance(r, 0.5) {
				title = "Co-Founder & CEO"
			}
		} else {
			cv := &g.v.contacts
			seniority = cv.seniorities[pickWeighted(r, len(cv.seniorities), func(i int) int { return cv.seniorities[i].weight })].name
			department = cv.departments[pickWeighted(r, len(cv.departments), func(i int) int { return cv.departments[i].weight })].name
			title = pick(r, cv.titles[seniority+"/"+department])
		}

		local := slug(first) + "." + slug(last)
		if chance(r, 0.2) {
			local = slug(first)[:1] + slug(last)
		}
		email := local + "@" + gc.company.Domain
		for k := 2; ; k++ {
			if _, dup := emails[email]; !dup {
				break
			}
			email = local + strconv.Itoa(k) + "@" + gc.company.Domain
		}
		emails[email] = struct{}{}

		rec := dataset.ContactRecord{
			FirstName: first, LastName: last, Email: email, Title: new(title),
			CompanyDomain: gc.company.Domain, Seniority: seniority, Department: department, CountryCode: ctry.code,
		}
		if chance(r, 0.88) {
			rec.Headline = new(title + " at " + gc.shortName)
		}
		if chance(r, 0.8) {
			rec.LinkedInURL = new("http://www.linkedin.com/in/" + slug(first) + "-" + slug(last) + "-" +
				strconv.FormatUint(r.Uint64()&0xffffff, 16))
		}
		if chance(r, 0.9) {
			rec.Location = new(cty.name + ", " + cty.state + ", " + ctry.shortName)
		}
		out = append(out, rec)
	}
	return out
}

// guideContacts returns the fixed contacts of the guide's companies: John
// Doe exactly as the guide shows him, and a few colleagues at MDX and at
// Netcontrol (invented, for persona tests).
func guideContacts() []dataset.ContactRecord {
	jd := schemas.GuideJohnDoe()
	john := dataset.ContactRecord{
		FirstName: jd.FirstName, LastName: jd.LastName, Headline: jd.Headline, LinkedInURL: jd.LinkedInURL,
		Email: jd.Email, Title: jd.Title, Location: jd.Location,
		CompanyDomain: jd.Company.Domain, Seniority: dataset.SeniorityVP, Department: dataset.DepartmentSales, CountryCode: "GB",
	}
	c := func(first, last, title, seniority, department, location, cc, domain, short string) dataset.ContactRecord {
		local := slug(first) + "." + slug(last)
		return dataset.ContactRecord{
			FirstName: first, LastName: last, Headline: new(title + " at " + short),
			LinkedInURL: new("http://www.linkedin.com/in/" + slug(first) + "-" + slug(last)),
			Email:       local + "@" + domain, Title: new(title), Location: new(location),
			CompanyDomain: domain, Seniority: seniority, Department: department, CountryCode: cc,
		}
	}
	const (
		london   = "London, England, United Kingdom"
		helsinki = "Helsinki, Uusimaa, Finland"
		mdx      = "mdxtechnology.com"
		nc       = "netcontrol.com"
	)
	return []dataset.ContactRecord{
		john,
		c("Jane", "Roe", "Chief Executive Officer", dataset.SeniorityCLevel, dataset.DepartmentExecutive, london, "GB", mdx, "MDX Technology"),
		c("Alex", "Smith", "Director of Engineering", dataset.SeniorityDirector, dataset.DepartmentEngineering, london, "GB", mdx, "MDX Technology"),
		c("Priya", "Patel", "Marketing Manager", dataset.SeniorityManager, dataset.DepartmentMarketing, london, "GB", mdx, "MDX Technology"),
		c("Tom", "Baker", "Senior Account Executive", dataset.SenioritySenior, dataset.DepartmentSales, london, "GB", mdx, "MDX Technology"),
		c("Maria", "Garcia", "Sales Development Representative", dataset.SeniorityEntry, dataset.DepartmentSales,
			"New York, New York, United States", "US", mdx, "MDX Technology"),
		c("Mikko", "Virtanen", "Chief Executive Officer", dataset.SeniorityCLevel, dataset.DepartmentExecutive, helsinki, "FI", nc, "Netcontrol"),
		c("Anna", "Korhonen", "VP, Sales", dataset.SeniorityVP, dataset.DepartmentSales, helsinki, "FI", nc, "Netcontrol"),
		c("Sanna", "Heikkinen", "Chief Financial Officer", dataset.SeniorityCLevel, dataset.DepartmentFinance, helsinki, "FI", nc, "Netcontrol"),
		c("Jukka", "Nieminen", "Director of R&D", dataset.SeniorityDirector, dataset.DepartmentEngineering, helsinki, "FI", nc, "Netcontrol"),
		c("Laura", "Mäkinen", "Marketing Manager", dataset.SeniorityManager, dataset.DepartmentMarketing, helsinki, "FI", nc, "Netcontrol"),
		c("Ville", "Koskinen", "Key Account Manager", dataset.SeniorityManager, dataset.DepartmentSales,
			"Tampere, Pirkanmaa, Finland", "FI", nc, "Netcontrol"),
		c("Timo", "Laine", "Senior Sales Engineer", dataset.SenioritySenior, dataset.DepartmentSales, helsinki, "FI", nc, "Netcontrol"),
	}
}

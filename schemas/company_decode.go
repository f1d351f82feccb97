package schemas

// The company part of the hand-written lead change decoder
// (change_decode.go): a Company with its geo and profiles, as the webhook
// shows it. Same semantics as the rest of the decoder.

// company decodes a Company, with or without "phone".
func (d *shapeDecoder) company(c *Company) {
	if !d.object() {
		return
	}
	*c = Company{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "name":
			d.str(&c.Name)
		case "domain":
			d.str(&c.Domain)
		case "website":
			d.nullStr(&c.Website)
		case "industry":
			d.nullStr(&c.Industry)
		case "founded_year":
			d.nullStr(&c.FoundedYear)
		case "employee_range":
			d.nullStr(&c.EmployeeRange)
		case "annual_revenue":
			d.nullFloat(&c.AnnualRevenue)
		case "total_funding":
			d.nullFloat(&c.TotalFunding)
		case "location":
			d.nullStr(&c.Location)
		case "description":
			d.nullStr(&c.Description)
		case "phone":
			d.nullStr(&c.Phone)
		case "geo":
			d.geo(&c.Geo)
		case "profiles":
			d.profiles(&c.Profiles)
		default:
			d.skip()
		}
	}
}

// geo decodes a Geo.
func (d *shapeDecoder) geo(g *Geo) {
	if !d.object() {
		return
	}
	*g = Geo{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "country":
			d.nullStr(&g.Country)
		case "country_code":
			d.nullStr(&g.CountryCode)
		case "state":
			d.nullStr(&g.State)
		case "state_code":
			d.nullStr(&g.StateCode)
		case "postal_code":
			d.nullStr(&g.PostalCode)
		case "city":
			d.nullStr(&g.City)
		case "street":
			d.nullStr(&g.Street)
		case "street_number":
			d.nullStr(&g.StreetNumber)
		default:
			d.skip()
		}
	}
}

// profiles decodes Profiles.
func (d *shapeDecoder) profiles(p *Profiles) {
	if !d.object() {
		return
	}
	*p = Profiles{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "crunchbase":
			d.profile(&p.Crunchbase)
		case "linkedin":
			d.profile(&p.LinkedIn)
		case "facebook":
			d.profile(&p.Facebook)
		case "twitter":
			d.profile(&p.Twitter)
		case "instagram":
			d.profile(&p.Instagram)
		case "youtube":
			d.profile(&p.YouTube)
		default:
			d.skip()
		}
	}
}

// profile decodes a Profile.
func (d *shapeDecoder) profile(p *Profile) {
	if !d.object() {
		return
	}
	*p = Profile{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "handle":
			d.nullStr(&p.Handle)
		case "url":
			d.nullStr(&p.URL)
		default:
			d.skip()
		}
	}
}

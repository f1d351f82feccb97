package schemas

// Company is the company object of the webhook payloads, field for field as
// in the guide. A nil pointer is an unknown value and encodes as null; keys
// are never left out.
//
// Phone is part of the record but not of every payload: the guide's
// contact_revealed company carries "phone" (after "description"), its
// new_lead company does not. AppendJSON and MarshalJSON write the full record
// with phone (the contact shape, also used for companies.jsonl and internal
// topics); AppendLeadJSON writes the lead shape without it.
type Company struct {
	// Name is the company's name, e.g. "Netcontrol Group". Never null.
	Name string `json:"name"`
	// Domain is the company's primary domain, lower case, e.g.
	// "netcontrol.com". Never null; it identifies the company.
	Domain string `json:"domain"`
	// Website is the company's site URL, e.g. "https://netcontrol.com".
	Website *string `json:"website"`
	// Industry is a name such as "Machinery" or "Financial Services".
	Industry *string `json:"industry"`
	// FoundedYear is the founding year as a string, e.g. "1991".
	FoundedYear *string `json:"founded_year"`
	// EmployeeRange is worded like "51-200 employees".
	EmployeeRange *string `json:"employee_range"`
	// AnnualRevenue is in whole currency units (USD), e.g. 7867000.
	AnnualRevenue *float64 `json:"annual_revenue"`
	// TotalFunding is in whole currency units (USD).
	TotalFunding *float64 `json:"total_funding"`
	// Location is the headquarters address on one line.
	Location *string `json:"location"`
	// Description is a free-text description.
	Description *string `json:"description"`
	// Phone is the headquarters phone number, e.g. "+44 20 7469 2610". It is
	// only written by AppendJSON/MarshalJSON (the contact shape).
	Phone *string `json:"phone"`
	// Geo is the headquarters address, split up.
	Geo Geo `json:"geo"`
	// Profiles are the company's social and data-provider profiles.
	Profiles Profiles `json:"profiles"`
}

// Geo is the company's headquarters address ("geo" in the guide), e.g.
// Finland / FI / Uusimaa / Uusimaa / 00380 / Helsinki / Karvaamokuja / 3.
// Every member is nullable: nil encodes as null.
type Geo struct {
	Country      *string `json:"country"`
	CountryCode  *string `json:"country_code"`
	State        *string `json:"state"`
	StateCode    *string `json:"state_code"`
	PostalCode   *string `json:"postal_code"`
	City         *string `json:"city"`
	Street       *string `json:"street"`
	StreetNumber *string `json:"street_number"`
}

// Profiles are the company's profiles, in the guide's key order. An unknown
// profile is {"handle": null, "url": null}, never null itself.
type Profiles struct {
	Crunchbase Profile `json:"crunchbase"`
	LinkedIn   Profile `json:"linkedin"`
	Facebook   Profile `json:"facebook"`
	Twitter    Profile `json:"twitter"`
	Instagram  Profile `json:"instagram"`
	YouTube    Profile `json:"youtube"`
}

// Profile is one profile: a handle and its URL, each possibly null.
type Profile struct {
	Handle *string `json:"handle"`
	URL    *string `json:"url"`
}

// AppendJSON appends the company with its "phone" key (the contact_revealed
// shape) to dst.
func (c *Company) AppendJSON(dst []byte) []byte { return c.appendJSON(dst, true) }

// AppendLeadJSON appends the company without "phone" (the new_lead and
// new_session shape) to dst.
func (c *Company) AppendLeadJSON(dst []byte) []byte { return c.appendJSON(dst, false) }

// AppendRefJSON appends the company by reference, as a lead change
// carries it (LeadChange.CompanyRef): its name and domain only.
func (c *Company) AppendRefJSON(dst []byte) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, c.Name)
	dst = append(dst, `,"domain":`...)
	dst = appendString(dst, c.Domain)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with the full record (AppendJSON).
func (c Company) MarshalJSON() ([]byte, error) { return c.AppendJSON(make([]byte, 0, 1536)), nil }

// UnmarshalJSON implements json.Unmarshaler with the package's hand-written
// decoder (change_decode.go). It resets c and accepts both shapes (with or
// without "phone"); missing keys leave zero values, unknown keys are skipped
// (but must be valid JSON), and c's strings share one copy of data. Errors
// are *DecodeError.
func (c *Company) UnmarshalJSON(data []byte) error { return decodeCompany(data, c) }

func (c *Company) appendJSON(dst []byte, withPhone bool) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, c.Name)
	dst = append(dst, `,"domain":`...)
	dst = appendString(dst, c.Domain)
	dst = append(dst, `,"website":`...)
	dst = appendNullString(dst, c.Website)
	dst = append(dst, `,"industry":`...)
	dst = appendNullString(dst, c.Industry)
	dst = append(dst, `,"founded_year":`...)
	dst = appendNullString(dst, c.FoundedYear)
	dst = append(dst, `,"employee_range":`...)
	dst = appendNullString(dst, c.EmployeeRange)
	dst = append(dst, `,"annual_revenue":`...)
	dst = appendNullFloat(dst, c.AnnualRevenue)
	dst = append(dst, `,"total_funding":`...)
	dst = appendNullFloat(dst, c.TotalFunding)
	dst = append(dst, `,"location":`...)
	dst = appendNullString(dst, c.Location)
	dst = append(dst, `,"description":`...)
	dst = appendNullString(dst, c.Description)
	if withPhone {
		dst = append(dst, `,"phone":`...)
		dst = appendNullString(dst, c.Phone)
	}
	dst = append(dst, `,"geo":`...)
	dst = c.Geo.AppendJSON(dst)
	dst = append(dst, `,"profiles":`...)
	dst = c.Profiles.AppendJSON(dst)
	return append(dst, '}')
}

// AppendJSON appends the geo object to dst.
func (g *Geo) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"country":`...)
	dst = appendNullString(dst, g.Country)
	dst = append(dst, `,"country_code":`...)
	dst = appendNullString(dst, g.CountryCode)
	dst = append(dst, `,"state":`...)
	dst = appendNullString(dst, g.State)
	dst = append(dst, `,"state_code":`...)
	dst = appendNullString(dst, g.StateCode)
	dst = append(dst, `,"postal_code":`...)
	dst = appendNullString(dst, g.PostalCode)
	dst = append(dst, `,"city":`...)
	dst = appendNullString(dst, g.City)
	dst = append(dst, `,"street":`...)
	dst = appendNullString(dst, g.Street)
	dst = append(dst, `,"street_number":`...)
	dst = appendNullString(dst, g.StreetNumber)
	return append(dst, '}')
}

// AppendJSON appends the profiles object to dst.
func (p *Profiles) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"crunchbase":`...)
	dst = p.Crunchbase.AppendJSON(dst)
	dst = append(dst, `,"linkedin":`...)
	dst = p.LinkedIn.AppendJSON(dst)
	dst = append(dst, `,"facebook":`...)
	dst = p.Facebook.AppendJSON(dst)
	dst = append(dst, `,"twitter":`...)
	dst = p.Twitter.AppendJSON(dst)
	dst = append(dst, `,"instagram":`...)
	dst = p.Instagram.AppendJSON(dst)
	dst = append(dst, `,"youtube":`...)
	dst = p.YouTube.AppendJSON(dst)
	return append(dst, '}')
}

// AppendJSON appends the profile object to dst.
func (p *Profile) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"handle":`...)
	dst = appendNullString(dst, p.Handle)
	dst = append(dst, `,"url":`...)
	dst = appendNullString(dst, p.URL)
	return append(dst, '}')
}

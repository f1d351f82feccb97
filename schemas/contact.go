package schemas

import "github.com/goccy/go-json"

// Contact is the subject of contact_revealed payloads, field for field as the
// guide's sample; its company includes "phone". Nil pointers encode as null.
type Contact struct {
	// FirstName is the contact's given name. Never null.
	FirstName string `json:"first_name"`
	// LastName is the contact's family name. Never null.
	LastName string `json:"last_name"`
	// Headline is e.g. "VP, Sales at MDX Technology".
	Headline *string `json:"headline"`
	// LinkedInURL is the contact's LinkedIn profile URL.
	LinkedInURL *string `json:"linkedin_url"`
	// Email is the contact's work email, its natural id. Never null.
	Email string `json:"email"`
	// Title is the job title, e.g. "VP, Sales".
	Title *string `json:"title"`
	// Location is e.g. "London, England, United Kingdom".
	Location *string `json:"location"`
	// Company is the contact's company, written with "phone".
	Company Company `json:"company"`
}

// AppendJSON appends the contact subject to dst.
func (c *Contact) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"first_name":`...)
	dst = appendString(dst, c.FirstName)
	dst = append(dst, `,"last_name":`...)
	dst = appendString(dst, c.LastName)
	dst = append(dst, `,"headline":`...)
	dst = appendNullString(dst, c.Headline)
	dst = append(dst, `,"linkedin_url":`...)
	dst = appendNullString(dst, c.LinkedInURL)
	dst = append(dst, `,"email":`...)
	dst = appendString(dst, c.Email)
	dst = append(dst, `,"title":`...)
	dst = appendNullString(dst, c.Title)
	dst = append(dst, `,"location":`...)
	dst = appendNullString(dst, c.Location)
	dst = append(dst, `,"company":`...)
	dst = c.Company.AppendJSON(dst)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler (AppendJSON).
func (c Contact) MarshalJSON() ([]byte, error) { return c.AppendJSON(make([]byte, 0, 2048)), nil }

// contactFields has Contact's fields without its methods, for decoding.
type contactFields Contact

// UnmarshalJSON implements json.Unmarshaler. Missing keys leave zero values,
// unknown keys are ignored.
func (c *Contact) UnmarshalJSON(data []byte) error {
	*c = Contact{}
	return json.Unmarshal(data, (*contactFields)(c))
}

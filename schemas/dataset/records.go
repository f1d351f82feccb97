package dataset

import (
	"net/netip"

	"github.com/leadflow/leadflow/schemas"
)

// File names in a sample data directory.
const (
	// IPDBFile is the MaxMind DB (database type DatabaseType) mapping
	// networks to IPRecord.
	IPDBFile = "ipdb.mmdb"
	// CompaniesFile holds one schemas.Company JSON object per line (with
	// "phone"), the guide's two companies first.
	CompaniesFile = "companies.jsonl"
	// ContactsFile holds one ContactRecord JSON object per line, grouped by
	// company in CompaniesFile order.
	ContactsFile = "contacts.jsonl"
	// NetworksFile holds one NetworkRecord JSON object per line: every
	// network of IPDBFile, for traffic generators that need visitor IPs.
	NetworksFile = "networks.jsonl"
	// ManifestFile describes the set (Manifest); it is written last, so a
	// directory with a valid manifest is complete.
	ManifestFile = "manifest.json"
)

// DatabaseType is the database_type in IPDBFile's metadata.
const DatabaseType = "leadflow-ip"

// FormatVersion is the version of the file formats; it is part of the
// EnsureDefault cache directory name and changes whenever Generate's output
// for a given seed changes.
const FormatVersion = 1

// IPRecord is the record of every network in IPDBFile. The enrich stage
// reads it with maxminddb-golang/v2:
//
//	var rec dataset.IPRecord
//	err := reader.Lookup(addr).Decode(&rec)
type IPRecord struct {
	// NetworkType is schemas.NetworkBusiness, NetworkISP, NetworkHosting or
	// NetworkEducation.
	NetworkType string `maxminddb:"network_type"`
	// CompanyDomain is the company owning a business network; empty for the
	// other types.
	CompanyDomain string `maxminddb:"company_domain"`
	// Geo is where visitors from the network are (not the company's
	// headquarters).
	Geo IPGeo `maxminddb:"geo"`
}

// IPGeo is a network's visitor geolocation.
type IPGeo struct {
	City        string  `maxminddb:"city"`
	CountryCode string  `maxminddb:"country_code"`
	Region      string  `maxminddb:"region"`
	Latitude    float64 `maxminddb:"latitude"`
	Longitude   float64 `maxminddb:"longitude"`
}

// Location returns g as the webhook's session location: empty strings become
// null, and the coordinates are null when the country is unknown.
func (g IPGeo) Location() schemas.Location {
	var loc schemas.Location
	if g.City != "" {
		loc.City = new(g.City)
	}
	if g.CountryCode != "" {
		loc.CountryCode = new(g.CountryCode)
		loc.Latitude = new(g.Latitude)
		loc.Longitude = new(g.Longitude)
	}
	if g.Region != "" {
		loc.Region = new(g.Region)
	}
	return loc
}

// NetworkRecord is one line of NetworksFile.
type NetworkRecord struct {
	// Network is the CIDR, e.g. 198.51.100.0/24 or 2001:db8::/48.
	Network netip.Prefix `json:"network"`
	// NetworkType is one of the schemas.Network* constants.
	NetworkType string `json:"network_type"`
	// CompanyDomain is set for business networks only.
	CompanyDomain string `json:"company_domain,omitempty"`
}

// HostAddr returns the n-th usable address of the network, counting from the
// first address after the network address and wrapping around, so any n
// gives an address inside the network (for /31, /32 and IPv6 /127, /128 the
// network address itself may be returned). Traffic generators use it to pick
// deterministic visitor IPs.
func (r NetworkRecord) HostAddr(n uint64) netip.Addr {
	p := r.Network.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	var span uint64 // usable addresses, capped at 2^32
	switch {
	case hostBits >= 32:
		span = 1 << 32
	case hostBits >= 2:
		span = 1<<hostBits - 2 // no network or broadcast address
	default:
		span = 1 << hostBits
	}
	off := n % span
	if hostBits >= 2 {
		off++
	}
	a := p.Addr().As16()
	for i := 15; i >= 0 && off > 0; i-- {
		sum := uint64(a[i]) + off&0xff
		a[i] = byte(sum)
		off = off>>8 + sum>>8
	}
	addr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		addr = addr.Unmap()
	}
	return addr
}

// Contact seniorities (ContactRecord.Seniority).
const (
	SeniorityCLevel   = "c_level"
	SeniorityVP       = "vp"
	SeniorityDirector = "director"
	SeniorityManager  = "manager"
	SenioritySenior   = "senior"
	SeniorityEntry    = "entry"
)

// Contact departments (ContactRecord.Department).
const (
	DepartmentExecutive   = "executive"
	DepartmentSales       = "sales"
	DepartmentMarketing   = "marketing"
	DepartmentEngineering = "engineering"
	DepartmentProduct     = "product"
	DepartmentFinance     = "finance"
	DepartmentOperations  = "operations"
	DepartmentHR          = "hr"
	DepartmentIT          = "it"
	DepartmentLegal       = "legal"
)

// ContactRecord is one line of ContactsFile: a contact_revealed subject
// without its company, plus what personas filter on.
type ContactRecord struct {
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Headline    *string `json:"headline"`
	LinkedInURL *string `json:"linkedin_url"`
	// Email is unique in the file; it identifies the contact.
	Email    string  `json:"email"`
	Title    *string `json:"title"`
	Location *string `json:"location"`
	// CompanyDomain is the contact's company (a CompaniesFile domain).
	CompanyDomain string `json:"company_domain"`
	// Seniority is one of the Seniority* constants.
	Seniority string `json:"seniority"`
	// Department is one of the Department* constants.
	Department string `json:"department"`
	// CountryCode is where the contact works, ISO 3166-1 alpha-2.
	CountryCode string `json:"country_code"`
}

// Contact returns the contact_revealed subject for r at company.
func (r *ContactRecord) Contact(company schemas.Company) schemas.Contact {
	return schemas.Contact{
		FirstName:   r.FirstName,
		LastName:    r.LastName,
		Headline:    r.Headline,
		LinkedInURL: r.LinkedInURL,
		Email:       r.Email,
		Title:       r.Title,
		Location:    r.Location,
		Company:     company,
	}
}

// Manifest describes a generated data set (ManifestFile).
type Manifest struct {
	// FormatVersion is the FormatVersion the set was written with.
	FormatVersion int `json:"format_version"`
	// Seed and Companies are the Options the set was generated with.
	Seed      int64 `json:"seed"`
	Companies int   `json:"companies"`
	// TotalCompanies counts CompaniesFile lines (Companies plus the guide's
	// two).
	TotalCompanies int `json:"total_companies"`
	// Contacts counts ContactsFile lines; Networks counts NetworksFile lines.
	Contacts int `json:"contacts"`
	Networks int `json:"networks"`
	// Files lists every data file with its size, in a fixed order.
	Files []ManifestEntry `json:"files"`
}

// ManifestEntry is one file of a Manifest.
type ManifestEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Seniorities returns every contact seniority of the sample data, most
// senior first: the values a persona's seniorities are offered from.
func Seniorities() []string {
	return []string{SeniorityCLevel, SeniorityVP, SeniorityDirector, SeniorityManager, SenioritySenior, SeniorityEntry}
}

// Departments returns every contact department of the sample data: the
// values a persona's departments are offered from.
func Departments() []string {
	return []string{DepartmentExecutive, DepartmentSales, DepartmentMarketing, DepartmentEngineering, DepartmentProduct,
		DepartmentFinance, DepartmentOperations, DepartmentHR, DepartmentIT, DepartmentLegal}
}

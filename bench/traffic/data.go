package traffic

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// Data is what a Generator needs of a sample data set: the companies with
// their business networks, and the other networks. Load it once with
// LoadData and share it; it is read-only.
type Data struct {
	// Companies are the companies with at least one business network, in
	// networks.jsonl order (the guide's Netcontrol and MDX first).
	Companies []Company
	// ISP, Hosting and Education are the non-business networks.
	ISP, Hosting, Education []dataset.NetworkRecord

	byDomain map[string]int
	// dir is the data set's directory (LoadData), where LoadReveals finds
	// the contacts file; "" for Data built by NewData.
	dir string
}

// Company is a company visitors can come from.
type Company struct {
	// Domain is the company's domain, as webhook subjects show it.
	Domain string
	// Industry is the company's industry ("" when unknown), for segments.
	Industry string
	// Networks are the company's business networks.
	Networks []dataset.NetworkRecord
}

// LoadData reads networks.jsonl and companies.jsonl of a sample data set
// directory (see sampledata.Ensure). It remembers the directory, so that
// LoadReveals can read its contacts.jsonl when a rule reveals contacts.
func LoadData(dir string) (*Data, error) {
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	industries := map[string]string{}
	for c, err := range dataset.ReadCompanies(filepath.Join(dir, dataset.CompaniesFile)) {
		if err != nil {
			return nil, fmt.Errorf("traffic: %w", err)
		}
		if c.Industry != nil {
			industries[c.Domain] = *c.Industry
		} else {
			industries[c.Domain] = ""
		}
	}
	d, err := NewData(nets, industries)
	if err != nil {
		return nil, err
	}
	d.dir = dir
	return d, nil
}

// NewData builds Data from network records and an industry per company
// domain (every business network's domain must be in industries).
func NewData(nets []dataset.NetworkRecord, industries map[string]string) (*Data, error) {
	d := &Data{byDomain: map[string]int{}}
	for _, n := range nets {
		switch n.NetworkType {
		case schemas.NetworkBusiness:
			ind, ok := industries[n.CompanyDomain]
			if !ok {
				return nil, fmt.Errorf("traffic: business network %s: company %q is not in the companies file", n.Network, n.CompanyDomain)
			}
			i, ok := d.byDomain[n.CompanyDomain]
			if !ok {
				i = len(d.Companies)
				d.byDomain[n.CompanyDomain] = i
				d.Companies = append(d.Companies, Company{Domain: n.CompanyDomain, Industry: ind})
			}
			d.Companies[i].Networks = append(d.Companies[i].Networks, n)
		case schemas.NetworkISP:
			d.ISP = append(d.ISP, n)
		case schemas.NetworkHosting:
			d.Hosting = append(d.Hosting, n)
		case schemas.NetworkEducation:
			d.Education = append(d.Education, n)
		}
	}
	switch {
	case len(d.Companies) == 0:
		return nil, errors.New("traffic: the data set has no business networks")
	case len(d.ISP) == 0 || len(d.Hosting) == 0 || len(d.Education) == 0:
		return nil, errors.New("traffic: the data set needs ISP, hosting and education networks")
	}
	return d, nil
}

// CompanyIndex returns the index in Companies of domain.
func (d *Data) CompanyIndex(domain string) (int, bool) {
	i, ok := d.byDomain[domain]
	return i, ok
}

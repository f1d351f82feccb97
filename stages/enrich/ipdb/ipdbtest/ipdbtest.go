// Package ipdbtest writes small IP databases in the enrich stage's record
// layout (dataset.IPRecord) for tests: a few networks, replaced
// atomically (write, then rename) like a production update.
package ipdbtest

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is one network and its record.
type Network struct {
	Prefix string // CIDR, e.g. "198.51.100.0/24" or "2001:db8::/48"
	Record dataset.IPRecord
}

// Business returns a business network of domain whose visitors are in city.
func Business(prefix, domain, city, country string) Network {
	return Network{Prefix: prefix, Record: dataset.IPRecord{NetworkType: "business", CompanyDomain: domain,
		Geo: dataset.IPGeo{City: city, CountryCode: country, Region: city + " Region", Latitude: 1.5, Longitude: -2.25}}}
}

// Write writes nets as a MaxMind DB to path: to a temporary file in the
// same directory, then renamed over path.
func Write(t testing.TB, path string, nets ...Network) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dataset.DatabaseType,
		IncludeReservedNetworks: true, IPVersion: 6, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		p := netip.MustParsePrefix(n.Prefix).Masked()
		g := n.Record.Geo
		m := mmdbtype.Map{
			"network_type": mmdbtype.String(n.Record.NetworkType),
			"geo": mmdbtype.Map{"city": mmdbtype.String(g.City), "country_code": mmdbtype.String(g.CountryCode),
				"region": mmdbtype.String(g.Region), "latitude": mmdbtype.Float64(g.Latitude),
				"longitude": mmdbtype.Float64(g.Longitude)},
		}
		if n.Record.CompanyDomain != "" {
			m["company_domain"] = mmdbtype.String(n.Record.CompanyDomain)
		}
		ipnet := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		if err := tree.Insert(ipnet, m); err != nil {
			t.Fatal(err)
		}
	}
	WriteTree(t, path, tree)
}

// WriteTree writes tree to path atomically (temporary file, rename).
func WriteTree(t testing.TB, path string, tree *mmdbwriter.Tree) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".ipdb-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		t.Fatal(err)
	}
}

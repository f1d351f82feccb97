package sampledata

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// Address space of the sample IP database.
//
// The guide's fixed networks are documentation ranges (RFC 5737):
// 198.51.100.0/24 Netcontrol, 203.0.113.0/24 MDX, 192.0.2.0/24 an ISP. Two
// fixed IPv6 networks from the documentation prefix 2001:db8::/32 (RFC 3849)
// mirror the two companies: 2001:db8::/48 and 2001:db8:1::/48.
//
// Generated networks never overlap them:
//   - IPv4 /24s are allocated in order from 240.0.0.0/4 (the former class E,
//     "reserved for future use"): never routed on the internet, so the
//     synthetic set cannot claim a real network, yet netip still calls them
//     global unicast, so no "private address" filter drops them.
//   - IPv6 /48s are allocated in order from 2001:db8:100::/48 upward.
const (
	firstGenerated24 = uint32(240) << 24
	// lastGenerated24 is the last /24 handed out (255.255.254.0), keeping
	// clear of the broadcast address.
	lastGenerated24  = uint32(255)<<24 | uint32(255)<<16 | uint32(254)<<8
	firstGenerated48 = 0x100
	lastGenerated48  = 0xffff
)

// network is a network with its visitor geolocation.
type network struct {
	rec dataset.NetworkRecord
	geo dataset.IPGeo
}

// fixedNetworks returns the always-present networks.
func fixedNetworks() []network {
	guide := schemas.GuideNetcontrolVisitorLocation()
	lahti := dataset.IPGeo{City: *guide.City, CountryCode: *guide.CountryCode, Region: *guide.Region,
		Latitude: *guide.Latitude, Longitude: *guide.Longitude}
	london := dataset.IPGeo{City: "London", CountryCode: "GB", Region: "England", Latitude: 51.5072, Longitude: -0.1276}
	amsterdam := dataset.IPGeo{City: "Amsterdam", CountryCode: "NL", Region: "Noord-Holland", Latitude: 52.3676, Longitude: 4.9041}
	n := func(cidr, typ, domain string, g dataset.IPGeo) network {
		return network{dataset.NetworkRecord{Network: netip.MustParsePrefix(cidr), NetworkType: typ, CompanyDomain: domain}, g}
	}
	return []network{
		n("198.51.100.0/24", schemas.NetworkBusiness, "netcontrol.com", lahti),
		n("203.0.113.0/24", schemas.NetworkBusiness, "mdxtechnology.com", london),
		n("192.0.2.0/24", schemas.NetworkISP, "", amsterdam),
		n("2001:db8::/48", schemas.NetworkBusiness, "netcontrol.com", lahti),
		n("2001:db8:1::/48", schemas.NetworkBusiness, "mdxtechnology.com", london),
	}
}

// allocator hands out the generated networks in order.
type allocator struct {
	next24 uint32 // next IPv4 /24 network address
	next48 uint32 // next IPv6 /48 index under 2001:db8::/32
}

func newAllocator() allocator {
	return allocator{next24: firstGenerated24, next48: firstGenerated48}
}

// v4 returns the next /24, or an error once the space is used up.
func (a *allocator) v4() (netip.Prefix, error) {
	if a.next24 > lastGenerated24 {
		return netip.Prefix{}, fmt.Errorf("sampledata: out of IPv4 /24 networks in 240.0.0.0/4 (lower Options.Companies)")
	}
	n := a.next24
	a.next24 += 256
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), 0}), 24), nil
}

// v6 returns the next /48, or false once the space is used up (IPv6
// networks are optional extras, so running out is not an error).
func (a *allocator) v6() (netip.Prefix, bool) {
	if a.next48 > lastGenerated48 {
		return netip.Prefix{}, false
	}
	n := a.next48
	a.next48++
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4], b[5] = byte(n>>8), byte(n)
	return netip.PrefixFrom(netip.AddrFrom16(b), 48), true
}

// ipTree wraps the mmdbwriter tree.
type ipTree struct {
	tree *mmdbwriter.Tree
}

// buildEpoch is the fixed build time written into the database metadata
// (the guide's sample time), so that output is byte-identical across runs.
const buildEpoch = 1715770550

func newIPTree(seed int64) (*ipTree, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dataset.DatabaseType,
		Description:             map[string]string{"en": fmt.Sprintf("leadflow synthetic sample IP database (seed %d)", seed)},
		IncludeReservedNetworks: true,
		IPVersion:               6,
		RecordSize:              28,
		BuildEpoch:              buildEpoch,
	})
	if err != nil {
		return nil, fmt.Errorf("sampledata: creating IP database: %w", err)
	}
	return &ipTree{tree: tree}, nil
}

// insert adds one network with its record.
func (t *ipTree) insert(n network) error {
	rec, geo := n.rec, n.geo
	m := mmdbtype.Map{
		"network_type": mmdbtype.String(rec.NetworkType),
		"geo": mmdbtype.Map{
			"city":         mmdbtype.String(geo.City),
			"country_code": mmdbtype.String(geo.CountryCode),
			"region":       mmdbtype.String(geo.Region),
			"latitude":     mmdbtype.Float64(geo.Latitude),
			"longitude":    mmdbtype.Float64(geo.Longitude),
		},
	}
	if rec.CompanyDomain != "" {
		m["company_domain"] = mmdbtype.String(rec.CompanyDomain)
	}
	p := rec.Network.Masked()
	ipnet := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	if err := t.tree.Insert(ipnet, m); err != nil {
		return fmt.Errorf("sampledata: inserting %s: %w", p, err)
	}
	return nil
}

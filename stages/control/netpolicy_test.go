package control

import (
	"net/netip"
	"testing"
)

// TestIsPublicAddr is the one table of every non-public range: for each,
// its first and last address are refused, and an address just outside is
// public. Regression (issue 12): the admin API's check and the deliver
// stage's connect-time guard kept two lists that disagreed (fec0::/10 and
// 64:ff9b:1::/48 were refused only at send time); both now call
// IsPublicAddr, and every entry of nonPublic must have a row here.
func TestIsPublicAddr(t *testing.T) {
	ranges := []struct {
		prefix  string
		outside string // a public address next to it ("" none tested)
		listed  bool   // an entry of nonPublic (not a netip predicate)
	}{
		{"0.0.0.0/8", "1.0.0.1", true},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"100.64.0.0/10", "100.128.0.1", true},
		{"127.0.0.0/8", "128.0.0.1", false},
		{"169.254.0.0/16", "169.255.0.1", false},
		{"172.16.0.0/12", "172.32.0.1", false},
		{"192.0.0.0/24", "192.0.1.1", true},
		{"192.0.2.0/24", "192.0.3.1", true},
		{"192.88.99.0/24", "192.88.100.1", true},
		{"192.168.0.0/16", "192.169.0.1", false},
		{"198.18.0.0/15", "198.20.0.1", true},
		{"198.51.100.0/24", "198.51.101.1", true},
		{"203.0.113.0/24", "203.0.114.1", true},
		{"224.0.0.0/4", "223.255.255.254", false},
		{"240.0.0.0/4", "", true},
		{"::/128", "", false},
		{"::1/128", "", false},
		{"::ffff:10.0.0.0/104", "::ffff:11.0.0.1", false},
		{"64:ff9b::a00:0/120", "64:ff9b::5db8:d70e", false},
		{"64:ff9b:1::/48", "64:ff9b:2::1", true},
		{"100::/64", "100:0:0:2::1", true},
		{"100:0:0:1::/64", "100:0:0:2::1", true},
		{"2001::/23", "2001:200::1", true},
		{"2001:db8::/32", "2001:db9::1", true},
		{"2002:a00::/24", "2002:5db8:d70e::", false},
		{"3fff::/20", "3fff:1000::1", true},
		{"5f00::/16", "5f01::1", true},
		{"fc00::/7", "fe00::1", false},
		{"fe80::/10", "", false},
		{"fec0::/10", "2606:4700:4700::1111", true},
		{"ff00::/8", "", false},
	}
	tested := map[netip.Prefix]bool{}
	for _, r := range ranges {
		p := netip.MustParsePrefix(r.prefix)
		if r.listed {
			tested[p] = true
		}
		first, last := p.Masked().Addr(), lastAddr(p)
		for _, a := range []netip.Addr{first, last} {
			if IsPublicAddr(a) {
				t.Errorf("%s: IsPublicAddr(%s) = true, want false", r.prefix, a)
			}
		}
		if r.outside != "" {
			if a := netip.MustParseAddr(r.outside); !IsPublicAddr(a) {
				t.Errorf("%s: IsPublicAddr(%s) = false, want true (outside the range)", r.prefix, a)
			}
		}
	}
	for _, p := range nonPublic {
		if !tested[p] {
			t.Errorf("nonPublic entry %s has no row in this table", p)
		}
	}
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

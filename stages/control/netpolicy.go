package control

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// nonPublic are the special-purpose ranges (IANA IPv4 and IPv6
// special-purpose registries, and deprecated ones) that netip's
// predicates do not cover and that no webhook receiver on the internet
// uses. It is the one list: the admin API's URL check (CheckPublicURL)
// and the deliver stage's connect-time guard both decide with
// IsPublicAddr. netpolicy_test.go tests every entry.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("100:0:0:1::/64"),  // dummy prefix
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, ORCHID, ...)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
	netip.MustParsePrefix("5f00::/16"),       // SRv6 SIDs
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Prefixes that embed an IPv4 address, which must be public itself.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// IsPublicAddr reports whether a is a public unicast address: not
// loopback, private (RFC 1918, fc00::/7), link-local, CGNAT
// (100.64.0.0/10), unspecified, multicast, broadcast, documentation,
// benchmarking or otherwise reserved (nonPublic). IPv4-mapped, NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4
// address they carry. It is the one rule for webhook addresses: the admin
// API checks a webhook URL's host with it (CheckPublicURL), and the
// deliver stage checks the address it actually dials with it (DNS can
// change between the two), unless private networks are allowed.
func IsPublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if a.Is6() {
		if nat64.Contains(a) {
			b := a.As16()
			return IsPublicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		}
		if sixTo4.Contains(a) {
			b := a.As16()
			return IsPublicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Resolver looks up the addresses of a host. *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckPublicURL reports why the webhook URL raw may not be used when
// private networks are not allowed, or "" when it may: its host must be
// (or resolve only to) public addresses (IsPublicAddr). raw must already
// pass ValidURL.
func CheckPublicURL(ctx context.Context, r Resolver, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "must be an absolute http(s) URL"
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(strings.TrimSuffix(host, ".")); err == nil {
		if !IsPublicAddr(a) {
			return fmt.Sprintf("must not point at a private or reserved address (%s); private networks are not allowed (stages.deliver.allow_private_networks is false)", a)
		}
		return ""
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Sprintf("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if !IsPublicAddr(a) {
			return fmt.Sprintf("host %q resolves to a private or reserved address (%s); private networks are not allowed (stages.deliver.allow_private_networks is false)", host, a.Unmap())
		}
	}
	return ""
}

package deliver

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrPrivateAddress is returned (wrapped) when a webhook URL resolves to an
// address that is not public and allow_private_networks is off. The check
// runs in the dialer's Control function, on the address actually being
// connected to after DNS resolution, so DNS rebinding cannot bypass it.
var ErrPrivateAddress = errors.New("webhook address is not public")

type privateAddressError struct{ addr netip.Addr }

func (e *privateAddressError) Error() string {
	return fmt.Sprintf("%v: %s (set stages.deliver.allow_private_networks to allow it)", ErrPrivateAddress, e.addr)
}
func (e *privateAddressError) Unwrap() error { return ErrPrivateAddress }

// nonPublic lists special-purpose ranges (IANA IPv4 and IPv6 special
// registries) that netip's predicates do not cover.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // CGNAT shared address space
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
		"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (incl. Teredo 2001::/32)
		"2001:db8::/32",   // documentation
		"fc00::/7",        // unique local
		"fec0::/10",       // site-local (deprecated)
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing SIDs
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 is the well-known NAT64 prefix, judged by the IPv4 address it embeds.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// PublicAddr reports whether a is a public unicast address a webhook may
// be sent to. IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// addresses are judged by the IPv4 address they embed.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return PublicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case b[0] == 0x20 && b[1] == 0x02: // 6to4
			return PublicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dialControl is a net.Dialer Control function that refuses non-public
// addresses. It runs after DNS resolution, for every address tried.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("deliver: dial %q: %w", address, err)
	}
	if !PublicAddr(ap.Addr()) {
		return &privateAddressError{addr: ap.Addr()}
	}
	return nil
}

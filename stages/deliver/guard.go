package deliver

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/leadflow/leadflow/stages/control"
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

// PublicAddr reports whether a is a public unicast address a webhook may
// be sent to. It is control.IsPublicAddr, the one rule that the admin
// API's URL check also uses, so that the two never disagree.
func PublicAddr(a netip.Addr) bool { return control.IsPublicAddr(a) }

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

package promotion

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned when a connection would reach a link-local, metadata
// or (when denied) private address.
var ErrForbiddenAddress = errors.New("address is not allowed")

// AddressPolicy decides which addresses outbound HTTP from steps may reach.
type AddressPolicy struct {
	// DenyPrivate also refuses RFC 1918, unique-local and loopback addresses.
	DenyPrivate bool
}

var alwaysDenied = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, incl. 169.254.169.254 metadata
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IPv6 metadata
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba metadata
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("ff00::/8"),
}

// Allowed reports whether ip may be dialled.
func (p AddressPolicy) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, pre := range alwaysDenied {
		if pre.Contains(ip) {
			return false
		}
	}
	if p.DenyPrivate && (ip.IsPrivate() || ip.IsLoopback()) {
		return false
	}
	return true
}

// control runs after name resolution, on the address actually dialled, so DNS names
// that resolve to metadata and redirects to such names are refused too.
func (p AddressPolicy) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !p.Allowed(ip) {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	return nil
}

// Client returns an HTTP client that enforces the policy at dial time, follows at most
// five redirects and has an overall timeout.
func (p AddressPolicy) Client(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: p.control}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the final address from the guard
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return dialer.DialContext(ctx, n, a) },
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			return nil
		},
	}
}

// DefaultHTTPClient is the guarded client with the default policy (private allowed).
func DefaultHTTPClient(timeout time.Duration) *http.Client { return AddressPolicy{}.Client(timeout) }

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

// ForbiddenAddressError names the refused address and why it was refused; it matches
// ErrForbiddenAddress with errors.Is.
type ForbiddenAddressError struct {
	// Addr is the address as dialled (for an IPv6 address, with its zone).
	Addr netip.Addr
	// Reason says which range the address is in.
	Reason string
}

func (e *ForbiddenAddressError) Error() string {
	return fmt.Sprintf("connecting to %s is not allowed: %s", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrForbiddenAddress) hold.
func (e *ForbiddenAddressError) Is(target error) bool { return target == ErrForbiddenAddress }

// AddressPolicy decides which addresses outbound HTTP from steps may reach.
type AddressPolicy struct {
	// DenyPrivate also refuses RFC 1918, shared (CGNAT), unique-local and loopback addresses.
	DenyPrivate bool
}

type deniedRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(reason string, prefixes ...string) []deniedRange {
	out := make([]deniedRange, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, deniedRange{netip.MustParsePrefix(p), reason})
	}
	return out
}

// alwaysDenied are refused whatever the policy: cloud metadata services live at
// link-local addresses, and the others are never a real HTTP server.
var alwaysDenied = concat(
	mustRanges("link-local address (cloud metadata services live here)", "169.254.0.0/16", "fe80::/10"),
	mustRanges("cloud metadata address", "fd00:ec2::254/128", "100.100.100.200/32"),
	mustRanges("unspecified or \"this network\" address", "0.0.0.0/8", "::/128"),
	mustRanges("multicast or broadcast address", "224.0.0.0/4", "255.255.255.255/32", "ff00::/8"),
)

// privateDenied are refused when DenyPrivate is set.
var privateDenied = concat(
	mustRanges("loopback address", "127.0.0.0/8", "::1/128"),
	mustRanges("private address", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"),
	mustRanges("shared (carrier-grade NAT) address", "100.64.0.0/10"),
)

func concat(lists ...[]deniedRange) []deniedRange {
	var out []deniedRange
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// IPv6 forms that carry an IPv4 address inside: a guard that looked only at the IPv6
// address would let them through to the IPv4 one they stand for.
var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix
	sixToFour    = netip.MustParsePrefix("2002::/16")    // RFC 3056
	v4Compatible = netip.MustParsePrefix("::/96")        // deprecated IPv4-compatible
)

// embeddedIPv4 returns the IPv4 address an IPv6 transition address carries.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64Prefix.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case v4Compatible.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	}
	return netip.Addr{}, false
}

// Check returns a *ForbiddenAddressError when ip may not be dialled. The zone of a
// scoped IPv6 address (fe80::1%eth0) is ignored and IPv4-mapped, NAT64, 6to4 and
// IPv4-compatible forms are judged by the IPv4 address they carry as well.
func (p AddressPolicy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &ForbiddenAddressError{Addr: ip, Reason: "not an IP address"}
	}
	// netip.Prefix.Contains never matches an address with a zone, so the zone must go
	// before any range test.
	bare := ip.WithZone("").Unmap()
	candidates := []netip.Addr{bare}
	if v4, ok := embeddedIPv4(bare); ok {
		candidates = append(candidates, v4)
	}
	for _, c := range candidates {
		reason, byFlag := p.deniedReason(c)
		if reason == "" {
			continue
		}
		if c != bare {
			reason = fmt.Sprintf("it carries %s: %s", c, reason)
		}
		if byFlag {
			reason += " (refused because the controller runs with --deny-private-http)"
		}
		return &ForbiddenAddressError{Addr: ip, Reason: reason}
	}
	return nil
}

// deniedReason names the range ip is refused for; byFlag says the refusal comes from
// DenyPrivate.
func (p AddressPolicy) deniedReason(ip netip.Addr) (reason string, byFlag bool) {
	for _, r := range alwaysDenied {
		if r.prefix.Contains(ip) {
			return r.reason, false
		}
	}
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return "link-local address (cloud metadata services live here)", false
	}
	if p.DenyPrivate {
		for _, r := range privateDenied {
			if r.prefix.Contains(ip) {
				return r.reason, true
			}
		}
	}
	return "", false
}

// Allowed reports whether ip may be dialled.
func (p AddressPolicy) Allowed(ip netip.Addr) bool { return p.Check(ip) == nil }

// control runs after name resolution, on the address actually dialled, so DNS names
// that resolve to metadata and redirects to such names are refused too.
func (p AddressPolicy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	return p.Check(ip)
}

// Client returns an HTTP client that enforces the policy at dial time (after DNS, on
// every redirect), follows at most five redirects and has an overall timeout.
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

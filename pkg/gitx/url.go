package gitx

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/haul-dev/haul/pkg/redact"
)

// RemotePolicy decides which repository URLs Haul talks to. Only network transports are
// ever allowed: a local path or file:// URL would let one project read another's
// repository out of the controller's own disk (its Git cache holds what other
// projects fetched with their credentials), and ext:: or other remote helpers run
// programs. The zero value allows https, http and ssh.
type RemotePolicy struct {
	// DenyPlainHTTP refuses http:// remotes too, so credentials and content never
	// travel unencrypted.
	DenyPlainHTTP bool
}

// URLError says a repository URL is not one Haul will use. Its message names the
// field and the value (credentials in it masked).
type URLError struct {
	Field  string
	URL    string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, redact.String(e.URL), e.Reason)
}

// CheckURL checks u with the default policy; see RemotePolicy.Check.
func CheckURL(field, u string) error { return RemotePolicy{}.Check(field, u) }

// Check returns a *URLError unless u is an https://, http:// (unless DenyPlainHTTP),
// ssh:// or scp-style ([user@]host:path) remote. It refuses file:// and every other
// scheme, <helper>::<address> remote helpers (ext::), absolute and relative local
// paths, values starting with '-' (they would be read as git options) and values with
// spaces or control characters. field names the config field in the error.
func (p RemotePolicy) Check(field, u string) error {
	bad := func(why string) error { return &URLError{Field: field, URL: u, Reason: why} }
	allowed := "only https, http and ssh remotes are allowed"
	if p.DenyPlainHTTP {
		allowed = "only https and ssh remotes are allowed"
	}
	switch {
	case u == "":
		return bad("must not be empty")
	case strings.HasPrefix(u, "-"):
		return bad("must not start with '-'")
	}
	for _, r := range u {
		if r <= ' ' || r == 0x7f {
			return bad("must not contain spaces or control characters")
		}
	}
	if scheme, _, ok := strings.Cut(u, "://"); ok && isSchemeName(scheme) {
		switch strings.ToLower(scheme) {
		case "https", "ssh":
		case "http":
			if p.DenyPlainHTTP {
				return bad("plain http remotes are refused; use https")
			}
		default:
			return bad(allowed)
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || pu.Opaque != "" {
			return bad("is not a valid URL with a host")
		}
		if strings.HasPrefix(pu.Hostname(), "-") || strings.HasPrefix(pu.User.Username(), "-") {
			return bad("host and user must not start with '-'")
		}
		return nil
	}
	// scp-style: [user@]host:path, where no '/' comes before the first ':' (git's own
	// rule for telling it from a local path).
	colon := strings.IndexByte(u, ':')
	if at := strings.IndexByte(u, '@'); strings.HasPrefix(u[at+1:], "[") && (colon < 0 || colon > at) {
		// [IPv6]:path — the colons inside the brackets are the address's.
		if end := strings.Index(u[at+1:], "]:"); end > 0 {
			colon = at + 1 + end + 1
		}
	}
	if colon < 0 || strings.ContainsRune(u[:colon], '/') {
		return bad(allowed + ", not local paths")
	}
	hostPart, path := u[:colon], u[colon+1:]
	if strings.HasPrefix(path, ":") {
		return bad(allowed + ", not remote helpers (<name>::<address>)")
	}
	if path == "" {
		return bad("has no repository path after ':'")
	}
	user, host, hasUser := strings.Cut(hostPart, "@")
	if !hasUser {
		host, user = user, ""
	}
	if hasUser && (user == "" || strings.HasPrefix(user, "-")) {
		return bad("user must not be empty or start with '-'")
	}
	if !isHostName(host) {
		return bad(allowed + "; the part before ':' is not a host name")
	}
	return nil
}

// isSchemeName reports whether git reads s as a URL scheme: git's is_urlschemechar
// allows a digit first ("0://x" runs git-remote-0), unlike RFC 3986, so this does too.
func isSchemeName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// isHostName accepts DNS names, IPv4 addresses and bracketed IPv6 addresses.
func isHostName(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") && len(h) > 2 {
		return strings.Trim(h[1:len(h)-1], "0123456789abcdefABCDEF:.") == ""
	}
	if h == "" || strings.HasPrefix(h, "-") || strings.HasPrefix(h, ".") {
		return false
	}
	return strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == ""
}

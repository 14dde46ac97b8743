package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-logr/logr"
)

// SessionCookie is the HttpOnly cookie holding a logged-in browser's token.
const SessionCookie = "haul_session"

// ErrUnauthenticated is returned when a request carries no usable credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// OIDCConfig configures login with an OpenID Connect provider.
type OIDCConfig struct {
	// IssuerURL is the provider's issuer; discovery is read from
	// <IssuerURL>/.well-known/openid-configuration.
	IssuerURL string
	// ClientID is the OAuth client; ID tokens must name it in their audience.
	ClientID string
	// ClientSecret is empty for public clients (PKCE only).
	ClientSecret string
	// RedirectURL is where the provider sends the browser back; defaults to
	// <ExternalURL>/auth/callback.
	RedirectURL string
	// Scopes requested besides "openid"; defaults to profile, email and groups.
	Scopes []string
	// UsernameClaim names the claim used as the Kubernetes user name (default "email").
	UsernameClaim string
	// GroupsClaim names the claim listing the user's groups (default "groups").
	GroupsClaim string
	// UsernamePrefix is put in front of every user name taken from an ID token, so that
	// the identity provider cannot name a Kubernetes user such as a ServiceAccount.
	// Empty means DefaultPrefix; NoPrefix ("-") means none, as with kube-apiserver's
	// --oidc-username-prefix.
	UsernamePrefix string
	// GroupsPrefix is put in front of every group taken from an ID token (empty means
	// DefaultPrefix, NoPrefix none), so that a group claim cannot name system:masters.
	GroupsPrefix string
}

// DefaultPrefix is the default UsernamePrefix and GroupsPrefix.
const DefaultPrefix = "oidc:"

// NoPrefix as UsernamePrefix or GroupsPrefix leaves names from ID tokens unprefixed.
const NoPrefix = "-"

// reservedPrefix is the namespace of identities Kubernetes itself assigns
// (system:masters, system:serviceaccount:..., system:node:...). No identity from an ID
// token is ever impersonated inside it.
const reservedPrefix = "system:"

// prefixValue turns a configured prefix into the string to prepend.
func prefixValue(p string) string {
	switch p {
	case "":
		return DefaultPrefix
	case NoPrefix:
		return ""
	}
	return p
}

// ValidatePrefix checks a configured OIDC user or group prefix: it must not itself put
// names into the reserved system: namespace.
func ValidatePrefix(flag, p string) error {
	if strings.HasPrefix(prefixValue(p), reservedPrefix) {
		return fmt.Errorf("%s %q is refused: names under %q are Kubernetes' own identities", flag, p, reservedPrefix)
	}
	return nil
}

// TokenReviewer checks a Kubernetes bearer token, usually with a TokenReview.
type TokenReviewer interface {
	// Review returns the token's user, or an error wrapping ErrUnauthenticated when the
	// API server does not accept the token.
	Review(ctx context.Context, token string) (*User, error)
}

// Options configure an Authenticator.
type Options struct {
	// AdminToken is the local-mode admin token; empty disables it.
	AdminToken string
	// OIDC enables OpenID Connect when set.
	OIDC *OIDCConfig
	// TokenReviewer checks any other bearer token; nil rejects them.
	TokenReviewer TokenReviewer
	// ExternalURL is the public URL of the server, used for the OIDC redirect and to
	// decide whether cookies are Secure.
	ExternalURL string
	Logger      logr.Logger
}

// Authenticator turns a request's credentials into a User.
type Authenticator struct {
	opts      Options
	adminHash [32]byte

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	key      []byte

	reviews *ttlCache
}

// New returns an Authenticator. The OIDC provider is discovered on first use so that
// an identity provider that is down at start does not keep the server from starting.
func New(opts Options) *Authenticator {
	a := &Authenticator{opts: opts, reviews: newTTLCache(10*time.Second, 10000)}
	if opts.AdminToken != "" {
		a.adminHash = sha256.Sum256([]byte(opts.AdminToken))
	}
	if opts.OIDC != nil {
		c := *opts.OIDC
		if c.UsernameClaim == "" {
			c.UsernameClaim = "email"
		}
		if c.GroupsClaim == "" {
			c.GroupsClaim = "groups"
		}
		c.UsernamePrefix = prefixValue(c.UsernamePrefix)
		c.GroupsPrefix = prefixValue(c.GroupsPrefix)
		a.opts.OIDC = &c
	}
	return a
}

// OIDCEnabled says whether OIDC login is configured.
func (a *Authenticator) OIDCEnabled() bool { return a.opts.OIDC != nil }

// LocalTokenEnabled says whether the local admin token is accepted.
func (a *Authenticator) LocalTokenEnabled() bool { return a.opts.AdminToken != "" }

// Authenticate identifies the caller from the Authorization header or, without one,
// the session cookie. It returns an error wrapping ErrUnauthenticated for anything it
// cannot attribute to a user.
func (a *Authenticator) Authenticate(r *http.Request) (*User, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, fmt.Errorf("%w: Authorization header must be \"Bearer <token>\"", ErrUnauthenticated)
		}
		return a.AuthenticateToken(r.Context(), strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return a.AuthenticateToken(r.Context(), c.Value)
	}
	return nil, fmt.Errorf("%w: no bearer token or session cookie", ErrUnauthenticated)
}

// AuthenticateToken identifies the owner of a bearer token: the admin token, an ID
// token from the configured OIDC issuer, or a token the Kubernetes API server accepts.
func (a *Authenticator) AuthenticateToken(ctx context.Context, tok string) (*User, error) {
	if a.opts.AdminToken != "" {
		h := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(h[:], a.adminHash[:]) == 1 {
			return &User{Name: AdminUsername, Groups: []string{"system:authenticated"}, Admin: true}, nil
		}
	}
	if a.opts.OIDC != nil && unverifiedIssuer(tok) == a.opts.OIDC.IssuerURL {
		u, _, err := a.verifyIDToken(ctx, tok)
		return u, err
	}
	if a.opts.TokenReviewer == nil {
		return nil, fmt.Errorf("%w: token not recognised", ErrUnauthenticated)
	}
	key := sha256.Sum256([]byte(tok))
	if u, ok := a.reviews.get(key); ok {
		return u, nil
	}
	u, err := a.opts.TokenReviewer.Review(ctx, tok)
	if err != nil {
		return nil, err
	}
	a.reviews.put(key, u)
	return u, nil
}

// signingAlgs are the asymmetric algorithms accepted for ID tokens; "none" and HMAC
// algorithms are never accepted.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// oidcVerifier discovers the provider on first use and caches the result.
func (a *Authenticator) oidcVerifier() (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier != nil {
		return a.provider, a.verifier, nil
	}
	// Discovery must outlive the request that triggered it: the key set it creates
	// keeps using this context to refresh keys.
	dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, a.opts.OIDC.IssuerURL)
	if err != nil {
		return nil, nil, fmt.Errorf("discovering OIDC issuer %q: %w", a.opts.OIDC.IssuerURL, err)
	}
	a.provider = p
	a.verifier = p.Verifier(&oidc.Config{ClientID: a.opts.OIDC.ClientID, SupportedSigningAlgs: signingAlgs})
	return a.provider, a.verifier, nil
}

// verifyIDToken checks signature, issuer, audience and expiry, then maps claims to a user.
func (a *Authenticator) verifyIDToken(ctx context.Context, raw string) (*User, *oidc.IDToken, error) {
	_, v, err := a.oidcVerifier()
	if err != nil {
		a.opts.Logger.Error(err, "Cannot verify ID token")
		return nil, nil, fmt.Errorf("%w: identity provider unavailable", ErrUnauthenticated)
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: invalid ID token: %s", ErrUnauthenticated, err.Error())
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("%w: reading ID token claims: %s", ErrUnauthenticated, err.Error())
	}
	u, err := a.userFromClaims(tok.Subject, claims)
	if err != nil {
		return nil, nil, err
	}
	return u, tok, nil
}

// userFromClaims maps OIDC claims to a Kubernetes user and groups. The user name and
// every group get their configured prefix. A user whose name, before or after the
// prefix, lies in system: is refused; a group that would land in system: is dropped.
func (a *Authenticator) userFromClaims(subject string, claims map[string]any) (*User, error) {
	c := a.opts.OIDC
	name, _ := claims[c.UsernameClaim].(string)
	if c.UsernameClaim == "email" && name != "" {
		if v, ok := claims["email_verified"].(bool); ok && !v {
			return nil, fmt.Errorf("%w: claim email_verified is false", ErrUnauthenticated)
		}
	}
	var raw []string
	switch g := claims[c.GroupsClaim].(type) {
	case string:
		if g != "" {
			raw = []string{g}
		}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok && s != "" {
				raw = append(raw, s)
			}
		}
	}
	if name == "" && len(raw) == 0 {
		return nil, fmt.Errorf("%w: ID token has neither claim %q nor claim %q", ErrUnauthenticated, c.UsernameClaim, c.GroupsClaim)
	}
	claim := c.UsernameClaim
	if name == "" {
		// Impersonation needs a user name; the subject is stable and never empty.
		name, claim = subject, "sub"
	}
	if strings.HasPrefix(name, reservedPrefix) || strings.HasPrefix(c.UsernamePrefix+name, reservedPrefix) {
		return nil, fmt.Errorf("%w: ID token claim %q is %q, a reserved Kubernetes identity (%s...); such users are refused", ErrUnauthenticated, claim, name, reservedPrefix)
	}
	name = c.UsernamePrefix + name
	var groups []string
	for _, g := range raw {
		g = c.GroupsPrefix + g
		if strings.HasPrefix(g, reservedPrefix) {
			a.opts.Logger.Info("Dropped a reserved group from an ID token", "user", name, "claim", c.GroupsClaim, "group", g)
			continue
		}
		groups = append(groups, g)
	}
	return &User{Name: name, Groups: groups}, nil
}

// unverifiedIssuer reads the "iss" claim of a JWT without verifying it, only to pick
// the verifier; "" when tok is not a JWT.
func unverifiedIssuer(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Issuer
}

// ttlCache remembers successful token reviews briefly so that every API call does not
// cost a TokenReview.
type ttlCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[[32]byte]ttlEntry
}

type ttlEntry struct {
	user *User
	exp  time.Time
}

func newTTLCache(ttl time.Duration, max int) *ttlCache {
	return &ttlCache{ttl: ttl, max: max, entries: map[[32]byte]ttlEntry{}}
}

func (c *ttlCache) get(k [32]byte) (*User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || time.Now().After(e.exp) {
		return nil, false
	}
	return e.user, true
}

func (c *ttlCache) put(k [32]byte, u *User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.entries = map[[32]byte]ttlEntry{}
	}
	c.entries[k] = ttlEntry{user: u, exp: time.Now().Add(c.ttl)}
}

package testservers

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OIDCIssuer is a test OpenID Connect provider on 127.0.0.1: real discovery, JWKS,
// an authorization endpoint that logs in whoever SetLoginClaims names without asking,
// and a token endpoint that checks the PKCE verifier. Tokens are RS256-signed with a
// key generated at start. For tests only: it authenticates nobody.
type OIDCIssuer struct {
	// URL is the issuer URL (http://127.0.0.1:port).
	URL string
	// ClientID is the only client the issuer accepts; it is the ID tokens' audience.
	ClientID string

	key *rsa.PrivateKey
	srv *http.Server

	mu     sync.Mutex
	login  map[string]any
	codes  map[string]oidcCode
	tokens int
}

type oidcCode struct {
	challenge   string
	nonce       string
	redirectURI string
	claims      map[string]any
}

// StartOIDCIssuer starts a test issuer for clientID.
func StartOIDCIssuer(clientID string) (*OIDCIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	i := &OIDCIssuer{
		URL: "http://" + ln.Addr().String(), ClientID: clientID, key: key,
		login: map[string]any{"sub": "test-user", "email": "test-user@example.com"},
		codes: map[string]oidcCode{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /keys", i.keys)
	mux.HandleFunc("GET /authorize", i.authorize)
	mux.HandleFunc("POST /token", i.token)
	i.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = i.srv.Serve(ln) }()
	return i, nil
}

// Close stops the issuer.
func (i *OIDCIssuer) Close() error { return i.srv.Close() }

// SetLoginClaims sets the claims of the user the next logins authenticate as.
func (i *OIDCIssuer) SetLoginClaims(claims map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.login = claims
}

// IDToken signs an ID token. iss, aud (ClientID), iat and exp (one hour) are filled
// in unless claims sets them.
func (i *OIDCIssuer) IDToken(claims map[string]any) (string, error) {
	c := map[string]any{
		"iss": i.URL, "aud": i.ClientID,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
	for k, v := range claims {
		c[k] = v
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: i.key, KeyID: "test", Algorithm: "RS256"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// UnsignedToken returns a token with "alg": "none" and the given claims (plus iss and
// aud as IDToken fills them), which a verifier must refuse.
func (i *OIDCIssuer) UnsignedToken(claims map[string]any) string {
	c := map[string]any{"iss": i.URL, "aud": i.ClientID, "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// TokensIssued counts tokens handed out by the token endpoint.
func (i *OIDCIssuer) TokensIssued() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.tokens
}

func (i *OIDCIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	oidcWriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"jwks_uri":                              i.URL + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (i *OIDCIssuer) keys(w http.ResponseWriter, _ *http.Request) {
	oidcWriteJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &i.key.PublicKey, KeyID: "test", Algorithm: "RS256", Use: "sig"},
	}})
}

// authorize logs the configured user in at once and redirects back with a code.
func (i *OIDCIssuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != i.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "unknown client or response_type", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	code := oidcRandom()
	i.mu.Lock()
	i.codes[code] = oidcCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirectURI: redirect.String(), claims: i.login}
	i.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token redeems a code once, checking the PKCE verifier and the redirect URI.
func (i *OIDCIssuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oidcWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	i.mu.Lock()
	c, ok := i.codes[r.PostForm.Get("code")]
	delete(i.codes, r.PostForm.Get("code"))
	i.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok, r.PostForm.Get("grant_type") != "authorization_code":
		oidcWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		oidcWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier mismatch"})
		return
	case r.PostForm.Get("redirect_uri") != c.redirectURI:
		oidcWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	}
	claims := map[string]any{}
	for k, v := range c.claims {
		claims[k] = v
	}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	idt, err := i.IDToken(claims)
	if err != nil {
		oidcWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	i.mu.Lock()
	i.tokens++
	i.mu.Unlock()
	oidcWriteJSON(w, http.StatusOK, map[string]any{
		"access_token": oidcRandom(), "token_type": "Bearer", "expires_in": 3600, "id_token": idt,
	})
}

func oidcWriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func oidcRandom() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

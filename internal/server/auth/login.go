package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// loginCookie carries the state, PKCE verifier and nonce of a login in progress.
const loginCookie = "haul_oidc"

// loginTTL bounds how long a user may take at the identity provider.
const loginTTL = 10 * time.Minute

// loginState is what the login cookie holds, signed with the server's key.
type loginState struct {
	State      string `json:"s"`
	Verifier   string `json:"v"`
	Nonce      string `json:"n"`
	RedirectTo string `json:"r"`
	Expires    int64  `json:"e"`
}

// Register mounts the /auth endpoints on mux.
func (a *Authenticator) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/config", a.handleConfig)
	mux.HandleFunc("GET /auth/login", a.handleLogin)
	mux.HandleFunc("GET /auth/callback", a.handleCallback)
	mux.HandleFunc("POST /auth/logout", a.handleLogout)
	mux.HandleFunc("POST /auth/session", a.handleSession)
}

func (a *Authenticator) handleConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"oidc": a.OIDCEnabled(), "localToken": a.LocalTokenEnabled()})
}

// oauthConfig builds the OAuth2 client configuration from the discovered provider.
func (a *Authenticator) oauthConfig() (*oauth2.Config, error) {
	p, _, err := a.oidcVerifier()
	if err != nil {
		return nil, err
	}
	c := a.opts.OIDC
	redirect := c.RedirectURL
	if redirect == "" {
		redirect = strings.TrimRight(a.opts.ExternalURL, "/") + "/auth/callback"
	}
	scopes := []string{oidc.ScopeOpenID}
	extra := c.Scopes
	if len(extra) == 0 {
		extra = []string{"profile", "email", "groups"}
	}
	for _, s := range extra {
		if s != oidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  redirect,
		Scopes:       scopes,
	}, nil
}

// handleLogin starts the authorization-code flow with PKCE.
func (a *Authenticator) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !a.OIDCEnabled() {
		writeError(w, http.StatusNotFound, "NotFound", "OIDC login is not configured on this server")
		return
	}
	oc, err := a.oauthConfig()
	if err != nil {
		a.opts.Logger.Error(err, "Cannot start OIDC login")
		writeError(w, http.StatusBadGateway, "BadGateway", "the identity provider cannot be reached")
		return
	}
	st := loginState{
		State:      randomString(),
		Verifier:   oauth2.GenerateVerifier(),
		Nonce:      randomString(),
		RedirectTo: SafeRedirect(r.URL.Query().Get("redirectTo")),
		Expires:    time.Now().Add(loginTTL).Unix(),
	}
	//nolint:gosec // G124: Secure follows the external URL (see secure); local mode is plain http on loopback
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: a.seal(st), Path: "/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, oc.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce)), http.StatusFound)
}

// handleCallback finishes the flow: checks state, redeems the code with the PKCE
// verifier, verifies the ID token and its nonce, and stores it in the session cookie.
func (a *Authenticator) handleCallback(w http.ResponseWriter, r *http.Request) {
	if !a.OIDCEnabled() {
		writeError(w, http.StatusNotFound, "NotFound", "OIDC login is not configured on this server")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "no login in progress: start again at /auth/login")
		return
	}
	st, err := a.unseal(c.Value)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "login state "+err.Error()+": start again at /auth/login")
		return
	}
	//nolint:gosec // G124: Secure follows the external URL (see secure); local mode is plain http on loopback
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		writeError(w, http.StatusUnauthorized, "Unauthorized", fmt.Sprintf("identity provider refused the login: %s", e))
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		writeError(w, http.StatusBadRequest, "BadRequest", "query parameter state does not match the login in progress")
		return
	}
	oc, err := a.oauthConfig()
	if err != nil {
		writeError(w, http.StatusBadGateway, "BadGateway", "the identity provider cannot be reached")
		return
	}
	tok, err := oc.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		a.opts.Logger.Info("OIDC code exchange failed", "error", err.Error())
		writeError(w, http.StatusUnauthorized, "Unauthorized", "redeeming the authorization code failed")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "the identity provider returned no id_token")
		return
	}
	_, idt, err := a.verifyIDToken(r.Context(), raw)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "Unauthorized", err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "ID token nonce does not match the login in progress")
		return
	}
	a.setSession(w, raw, idt.Expiry)
	http.Redirect(w, r, SafeRedirect(st.RedirectTo), http.StatusFound)
}

// handleSession turns a bearer token (such as the local admin token from the login
// URL) into the session cookie, so that the browser's EventSource is authenticated too.
func (a *Authenticator) handleSession(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "Authorization header must be \"Bearer <token>\"")
		return
	}
	tok = strings.TrimSpace(tok)
	u, err := a.AuthenticateToken(r.Context(), tok)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "Unauthorized", err.Error())
		return
	}
	a.setSession(w, tok, time.Time{})
	writeJSON(w, http.StatusOK, u)
}

func (a *Authenticator) handleLogout(w http.ResponseWriter, _ *http.Request) {
	//nolint:gosec // G124: Secure follows the external URL (see secure)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) setSession(w http.ResponseWriter, tok string, exp time.Time) {
	//nolint:gosec // G124: Secure follows the external URL (see secure)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", Expires: exp,
		HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode,
	})
}

// secure says whether cookies need the Secure flag: whenever the server is reached over https.
func (a *Authenticator) secure() bool {
	u, err := url.Parse(a.opts.ExternalURL)
	return err == nil && u.Scheme == "https"
}

// stateKey signs login cookies. It derives from the client secret so that replicas
// agree; public clients without a secret get a per-process key.
func (a *Authenticator) stateKey() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.key == nil {
		if s := a.opts.OIDC.ClientSecret; s != "" {
			h := sha256.Sum256([]byte("haul login state\x00" + s))
			a.key = h[:]
		} else {
			a.key = make([]byte, 32)
			_, _ = rand.Read(a.key)
		}
	}
	return a.key
}

func (a *Authenticator) seal(st loginState) string {
	b, _ := json.Marshal(st)
	p := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, a.stateKey())
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *Authenticator) unseal(v string) (loginState, error) {
	var st loginState
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return st, errors.New("is malformed")
	}
	m := hmac.New(sha256.New, a.stateKey())
	m.Write([]byte(p))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return st, errors.New("has a bad signature")
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, errors.New("is malformed")
	}
	if time.Now().Unix() > st.Expires {
		return st, errors.New("has expired")
	}
	return st, nil
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeJSON and writeError mirror the API's JSON conventions for the auth endpoints.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "reason": reason, "message": msg})
}

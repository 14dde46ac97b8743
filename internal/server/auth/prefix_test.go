package auth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/internal/testservers"
)

// TestOIDCPrefixes signs ID tokens with a local issuer and checks the identity each
// becomes under default, custom and no prefixes: nothing from a token ever lands in
// system:, even with no prefix at all.
func TestOIDCPrefixes(t *testing.T) {
	iss, err := testservers.StartOIDCIssuer("haul")
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	for _, tc := range []struct {
		name             string
		userPfx, grpPfx  string
		claims           map[string]any
		wantUser         string
		wantGroups       []string
		wantErrSubstring string
	}{
		{name: "defaults", claims: map[string]any{"email": "alice@corp.test", "groups": []string{"system:masters", "dev"}},
			wantUser: "oidc:alice@corp.test", wantGroups: []string{"oidc:system:masters", "oidc:dev"}},
		{name: "custom prefixes", userPfx: "corp#", grpPfx: "corp-group:", claims: map[string]any{"email": "alice@corp.test", "groups": []string{"dev"}},
			wantUser: "corp#alice@corp.test", wantGroups: []string{"corp-group:dev"}},
		{name: "no prefix drops system groups", userPfx: auth.NoPrefix, grpPfx: auth.NoPrefix, claims: map[string]any{"email": "alice@corp.test", "groups": []string{"system:masters", "system:nodes", "dev"}},
			wantUser: "alice@corp.test", wantGroups: []string{"dev"}},
		{name: "no prefix refuses a service account user", userPfx: auth.NoPrefix, claims: map[string]any{"email": "system:serviceaccount:kube-system:default"},
			wantErrSubstring: `claim "email" is "system:serviceaccount:kube-system:default", a reserved Kubernetes identity`},
		{name: "default prefix still refuses a system user", claims: map[string]any{"email": "system:admin"},
			wantErrSubstring: `claim "email" is "system:admin", a reserved Kubernetes identity`},
		{name: "group-only token named after a system subject", userPfx: auth.NoPrefix, claims: map[string]any{"sub": "system:kube-scheduler", "groups": []string{"dev"}},
			wantErrSubstring: `claim "sub" is "system:kube-scheduler"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := auth.New(auth.Options{
				OIDC:   &auth.OIDCConfig{IssuerURL: iss.URL, ClientID: "haul", UsernamePrefix: tc.userPfx, GroupsPrefix: tc.grpPfx},
				Logger: logr.Discard(),
			})
			claims := map[string]any{"sub": "s-1"}
			for k, v := range tc.claims {
				claims[k] = v
			}
			tok, err := iss.IDToken(claims)
			if err != nil {
				t.Fatal(err)
			}
			u, err := a.AuthenticateToken(context.Background(), tok)
			if tc.wantErrSubstring != "" {
				if err == nil || !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.wantErrSubstring) {
					t.Fatalf("got user %+v, error %v; want unauthenticated with %q", u, err, tc.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Name != tc.wantUser || !slices.Equal(u.Groups, tc.wantGroups) || u.Admin {
				t.Fatalf("user %+v, want %s in %v", u, tc.wantUser, tc.wantGroups)
			}
		})
	}
}

// TestValidatePrefixRefusesSystem: a prefix that itself starts with system: would put
// every OIDC user among Kubernetes' own identities.
func TestValidatePrefixRefusesSystem(t *testing.T) {
	for _, p := range []string{"", auth.NoPrefix, "oidc:", "corp#"} {
		if err := auth.ValidatePrefix("--oidc-username-prefix", p); err != nil {
			t.Errorf("prefix %q: %v", p, err)
		}
	}
	err := auth.ValidatePrefix("--oidc-groups-prefix", "system:")
	if err == nil || !strings.Contains(err.Error(), `--oidc-groups-prefix "system:" is refused`) {
		t.Fatalf("prefix system: gave %v", err)
	}
}

package auth

import (
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

// FuzzClaimMapping feeds arbitrary ID-token claims and prefixes (those ValidatePrefix
// accepts) to the mapping that picks the impersonated identity: a mapped user or group
// never lands in Kubernetes' system: namespace, every name carries its configured
// prefix, and a false email_verified is always refused.
func FuzzClaimMapping(f *testing.F) {
	f.Add("a@example.com", "dev", "ops", "", "", "sub-1", true)
	f.Add("system:admin", "system:masters", "", "-", "-", "sub-2", true)
	f.Add("", "", "", "", "", "system:x", false)
	f.Add("x", "masters", "", "-", "system", "s", true)
	f.Add("admin", "", "", "sys", "-", "tem:x", false)
	f.Add("", "g1", "g2", ":", "system:", "sub", true)
	f.Fuzz(func(t *testing.T, name, group1, group2, userPrefix, groupPrefix, subject string, verified bool) {
		if ValidatePrefix("--oidc-username-prefix", userPrefix) != nil || ValidatePrefix("--oidc-groups-prefix", groupPrefix) != nil {
			return
		}
		for _, usernameClaim := range []string{"email", "preferred_username"} {
			a := New(Options{Logger: logr.Discard(), OIDC: &OIDCConfig{UsernameClaim: usernameClaim, UsernamePrefix: userPrefix, GroupsPrefix: groupPrefix}})
			claims := map[string]any{usernameClaim: name, "email_verified": verified, "groups": []any{group1, 7, nil, group2}}
			u, err := a.userFromClaims(subject, claims)
			if err != nil {
				continue
			}
			if usernameClaim == "email" && name != "" && !verified {
				t.Fatalf("email %q with email_verified=false was accepted as %q", name, u.Name)
			}
			up, gp := prefixValue(userPrefix), prefixValue(groupPrefix)
			if strings.HasPrefix(u.Name, reservedPrefix) || !strings.HasPrefix(u.Name, up) {
				t.Fatalf("claims %q/%q with prefix %q mapped to user %q", name, subject, up, u.Name)
			}
			if got := strings.TrimPrefix(u.Name, up); got != name && got != subject {
				t.Fatalf("user %q is neither the claim %q nor the subject %q", u.Name, name, subject)
			}
			for _, g := range u.Groups {
				if strings.HasPrefix(g, reservedPrefix) || !strings.HasPrefix(g, gp) {
					t.Fatalf("group claim mapped to %q (prefix %q)", g, gp)
				}
				if raw := strings.TrimPrefix(g, gp); raw == "" || (raw != group1 && raw != group2) {
					t.Fatalf("group %q came from no claim", g)
				}
			}
		}
	})
}

package warehouse

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzSelectTags(f *testing.F) {
	seeds := []string{
		"1.0.0,1.2.3,v1.2.4,latest",
		"v1.2,1.2.3-rc.1+build,1.2.3,１.２.３",
		"0.0.1,0.0.10,0.0.2",
		strings.Repeat("9", 10000) + ",1.0.0",
		"1.0.0-alpha,1.0.0-alpha.1,1.0.0-beta,1.0.0",
		",,,",
		"v0.0.0,V1.0.0,1.0.0.0,01.0.0",
	}
	for _, s := range seeds {
		f.Add(s, ">=1.0.0", true, uint8(3))
		f.Add(s, "", false, uint8(1))
	}
	f.Fuzz(func(t *testing.T, csv, constraint string, strict bool, limit uint8) {
		for _, strategy := range []Strategy{StrategySemVer, StrategyLexical} {
			sel, err := NewTagSelector(TagSelectorOptions{
				Strategy: strategy, Constraint: constraint, Strict: strict, Limit: int(limit%100) + 1,
				IgnoreTagsRegexes: []string{"^latest$"},
			})
			if err != nil {
				if !IsInvalidConstraint(err) {
					t.Fatalf("constraint error is not InvalidConstraintError: %v", err)
				}
				continue
			}
			tags := strings.Split(csv, ",")
			got := sel.Select(tags)
			if len(got) > sel.Limit {
				t.Fatalf("got %d tags, limit %d", len(got), sel.Limit)
			}
			again := sel.Select(tags)
			if strings.Join(got, ",") != strings.Join(again, ",") {
				t.Fatalf("selection not deterministic: %v vs %v", got, again)
			}
			for i, tag := range got {
				if tag == "latest" || len(tag) > maxTagLength {
					t.Fatalf("selected filtered tag %q", tag)
				}
				if strategy == StrategySemVer {
					v := ParseVersion(tag, strict)
					if v == nil {
						t.Fatalf("selected non-semver tag %q", tag)
					}
					if strict && !utf8.ValidString(tag) {
						t.Fatalf("strict mode accepted %q", tag)
					}
					if i > 0 && ParseVersion(got[i-1], strict).LessThan(v) {
						t.Fatalf("not ordered: %q before %q", got[i-1], tag)
					}
				} else if i > 0 && got[i-1] < tag {
					t.Fatalf("not ordered: %q before %q", got[i-1], tag)
				}
			}
		}
	})
}

func FuzzNormalizeRepoURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/acme/app.git", "git@github.com:acme/app.git", "nginx", "docker.io/library/nginx:1",
		"oci://127.0.0.1:5000/charts/x", "ssh://git@h:22/a/b", "https://u:p@h/x", "http://[::1]:80/x", ":", "@:", "://",
		"https://%zz/", "a@b:c@d", strings.Repeat("/", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeRepoURL(s)
		if n != strings.ToLower(n) {
			t.Fatalf("not lowercase: %q", n)
		}
		if n != "" && !strings.Contains(n, "/") {
			t.Fatalf("no repository path in %q → %q", s, n)
		}
		if strings.Contains(n, "://") && !strings.Contains(s, ":///") && strings.Count(s, "://") < 2 {
			t.Fatalf("scheme kept in %q → %q", s, n)
		}
	})
}

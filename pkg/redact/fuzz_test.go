package redact

import (
	"errors"
	"strings"
	"testing"
)

// FuzzValues checks the promise that a recorded secret never survives masking,
// wherever it sits in a message and whatever surrounds it.
func FuzzValues(f *testing.F) {
	f.Add("s3cr3t-token", "auth failed for ", " at https://x")
	f.Add("line1\nline2", "body: ", "")
	f.Add("tok", "short values are ignored", "")
	f.Add("ghp_abcdefghijklmnopqrstuvwxyz0123", "https://user:", "@github.com/org/repo")
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		if strings.ContainsAny(secret, Mask) {
			return // a secret made of the mask's own characters can reappear between masks
		}
		var v Values
		v.Add(secret)
		msg := before + secret + after
		for _, out := range []string{v.String(msg), v.Error(errors.New(msg)).Error()} {
			for _, s := range v.vals {
				if strings.Contains(out, s) {
					t.Fatalf("secret %q survives masking of %q: %q", s, msg, out)
				}
			}
		}
	})
}

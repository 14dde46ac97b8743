package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParsePath feeds arbitrary request paths to the receiver router: an accepted path
// names exactly one project and one receiver, neither empty nor holding a slash, and the
// canonical path built from them parses back to the same pair.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{PathPrefix + "p/r", PathPrefix + "p/r/", PathPrefix + "/p//r", PathPrefix + "p", PathPrefix + "p/r/x",
		PathPrefix + "../r", PathPrefix, "/other/p/r", PathPrefix + "p/%2e%2e", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		project, name, ok := parsePath(p)
		if !ok {
			if project != "" || name != "" {
				t.Fatalf("refused %q but returned %q/%q", p, project, name)
			}
			return
		}
		if !strings.HasPrefix(p, PathPrefix) {
			t.Fatalf("accepted %q outside %s", p, PathPrefix)
		}
		if project == "" || name == "" || strings.Contains(project, "/") || strings.Contains(name, "/") {
			t.Fatalf("parsePath(%q) = %q, %q", p, project, name)
		}
		if p2, n2, ok2 := parsePath(PathPrefix + project + "/" + name); !ok2 || p2 != project || n2 != name {
			t.Fatalf("canonical path of %q/%q does not parse back: %q, %q, %v", project, name, p2, n2, ok2)
		}
	})
}

// FuzzSignatureHeader feeds arbitrary X-Hub-Signature-256 style headers: only the
// HMAC-SHA256 of the exact body under the receiver's secret is accepted (hex in either
// case), an empty secret accepts nothing, and the right signature is always accepted.
func FuzzSignatureHeader(f *testing.F) {
	f.Add("sha256=00", []byte("{}"), "s3cret")
	f.Add("sha256=", []byte(""), "")
	f.Add("sha1=abcd", []byte("x"), "k")
	f.Add("SHA256=ab", []byte("x"), "k")
	f.Add("sha256=zz", []byte("x"), "k")
	f.Fuzz(func(t *testing.T, header string, body []byte, secret string) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		want := hex.EncodeToString(m.Sum(nil))
		got := validHMAC(header, body, secret)
		if got && (secret == "" || !strings.EqualFold(strings.TrimPrefix(header, "sha256="), want) || !strings.HasPrefix(header, "sha256=")) {
			t.Fatalf("accepted signature %q for a body whose HMAC is %s (secret empty: %v)", header, want, secret == "")
		}
		if secret != "" && !validHMAC("sha256="+want, body, secret) {
			t.Fatalf("refused the correct signature %s", want)
		}
		if secret != "" && len(body) > 0 && validHMAC("sha256="+want, append(append([]byte{}, body...), 'x'), secret) {
			t.Fatal("a signature of one body was accepted for another")
		}
	})
}

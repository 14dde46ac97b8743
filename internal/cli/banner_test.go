package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBannerHidesTheAdminToken: by default the ready banner names the token file and
// prints a dashboard URL without the token; --print-login-url brings the link back.
func TestBannerHidesTheAdminToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	dataDir := t.TempDir()
	var b strings.Builder
	printUp(&b, dataDir, "https://127.0.0.1:6443", filepath.Join(dataDir, "kubeconfig"), "http://127.0.0.1:8080", token, false)
	out := b.String()
	if strings.Contains(out, token) {
		t.Fatalf("the default banner prints the admin token:\n%s", out)
	}
	for _, want := range []string{"Dashboard:       http://127.0.0.1:8080/\n", filepath.Join(dataDir, "admin-token"), "--print-login-url", "Press Ctrl-C to stop."} {
		if !strings.Contains(out, want) {
			t.Errorf("default banner lacks %q:\n%s", want, out)
		}
	}

	b.Reset()
	printUp(&b, dataDir, "https://127.0.0.1:6443", filepath.Join(dataDir, "kubeconfig"), "http://127.0.0.1:8080", token, true)
	if out := b.String(); !strings.Contains(out, "http://127.0.0.1:8080/?token="+token+"\n") {
		t.Fatalf("--print-login-url banner lacks the login URL:\n%s", out)
	}
}

package steps

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// TestGitCloneInsecureSkipTLSVerifyReachesASelfSignedServer serves the real git
// server over HTTPS with httptest's self-signed certificate: a clone is refused
// until insecureSkipTLSVerify is set, and then the work tree keeps the setting, so
// git-commit and git-push (which have no such key, as in Kargo) reach the same server.
func TestGitCloneInsecureSkipTLSVerifyReachesASelfSignedServer(t *testing.T) {
	gs, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gs.Close() })
	if _, err := gs.SeedRepo("gitops", map[string]string{"a.txt": "1\n"}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(gs.URL)
	tlsSrv := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(tlsSrv.Close)
	repo := tlsSrv.URL + "/gitops.git"
	svc := &promotion.Services{Git: gitx.New(filepath.Join(t.TempDir(), "cache"))}
	clone := map[string]any{"repoURL": repo, "checkout": []any{map[string]any{"branch": "main", "path": "src"}}}

	r := newStepRun(t, nil)
	_, err = r.runWith(t, svc, gitClone, clone)
	wantErr(t, err, "certificate")

	clone["insecureSkipTLSVerify"] = true
	if _, err := r.runWith(t, svc, gitClone, clone); err != nil {
		t.Fatal(err)
	}
	r.mustRun(t, fileWrite, map[string]any{"path": "src/a.txt", "contents": "2\n", "overwrite": true})
	if _, err := r.runWith(t, svc, gitCommit, map[string]any{"path": "src", "message": "a to 2"}); err != nil {
		t.Fatal(err)
	}
	push, err := r.runWith(t, svc, gitPush, map[string]any{"path": "src"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := gs.RevParse("gitops", "main"); got != push.Output["commit"] {
		t.Errorf("main is %s on the server, want the pushed %v", got, push.Output["commit"])
	}
}

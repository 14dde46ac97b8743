package gitx_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/haul-dev/haul/pkg/gitx"
)

// One project fetched a private repository into the shared cache with its
// credentials; callers without them must not get its objects: not by URL (sequential
// or coalesced onto the other project's concurrent fetch) and not by pointing git at
// the cache or the server's files on disk.
func TestCachedRepositoryIsNeverServedToOtherCredentials(t *testing.T) {
	srv := seededServer(t)
	srv.Username, srv.Password = "a-bot", "a-pass"
	ctx := context.Background()
	c := gitx.New(t.TempDir())
	url := srv.RepoURL("r")
	projectA := &gitx.Auth{Username: "a-bot", Password: "a-pass"}
	cacheDir, err := c.Fetch(ctx, url, projectA)
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]*gitx.Auth{"anonymous": nil, "other credentials": {Username: "b-bot", Password: "b-pass"}} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Fetch(ctx, url, auth); err == nil {
				t.Fatal("fetch without project A's credentials was served from the cache")
			}
			if _, err := c.Clone(ctx, url, auth, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"}); err == nil {
				t.Fatal("clone without project A's credentials succeeded")
			}
		})
	}
	t.Run("concurrently with project A's fetches", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var served, failedA int
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				auth := projectA
				if i%2 == 1 {
					auth = nil
				}
				_, err := c.Fetch(ctx, url, auth)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case auth == nil && err == nil:
					served++
				case auth != nil && err != nil:
					failedA++
				}
			}()
		}
		wg.Wait()
		if served > 0 || failedA > 0 {
			t.Fatalf("%d anonymous fetches were served project A's copy; %d of project A's failed", served, failedA)
		}
	})
	t.Run("local paths", func(t *testing.T) {
		for _, u := range []string{"file://" + cacheDir, cacheDir, "file://" + filepath.Join(srv.Root, "r.git"), filepath.Join(srv.Root, "r.git")} {
			_, err := c.Clone(ctx, u, nil, nil, filepath.Join(t.TempDir(), "w"), gitx.Checkout{Branch: "main"})
			var ue *gitx.URLError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), `repoURL "`+u+`": only https, http and ssh remotes are allowed`) {
				t.Fatalf("clone of %s: %v, want a refusal naming repoURL and the value", u, err)
			}
		}
	})
}

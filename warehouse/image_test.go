package warehouse

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

func startRegistry(t *testing.T) *testservers.Registry {
	t.Helper()
	r, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func push(t *testing.T, r *testservers.Registry, repo, tag string, opts testservers.ImageOptions) string {
	t.Helper()
	d, err := r.PushImage(repo, tag, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func discover(t *testing.T, d *Discoverer, sub haulv1.RepoSubscription) *Result {
	t.Helper()
	s, err := d.Subscriber(0, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tagsOf(res *Result) []string {
	var out []string
	for _, r := range res.Images {
		out = append(out, r.Tag)
	}
	return out
}

func TestImageStrategies(t *testing.T) {
	r := startRegistry(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Creation order differs from version order so NewestBuild is distinguishable.
	push(t, r, "app", "1.0.0", testservers.ImageOptions{Created: base.Add(3 * time.Hour)})
	push(t, r, "app", "1.1.0", testservers.ImageOptions{Created: base.Add(1 * time.Hour)})
	push(t, r, "app", "v1.2.0", testservers.ImageOptions{Created: base, Annotations: map[string]string{annotationCreated: base.Add(5 * time.Hour).Format(time.RFC3339)}})
	push(t, r, "app", "2.0.0-rc.1", testservers.ImageOptions{Created: base.Add(2 * time.Hour)})
	latest := push(t, r, "app", "latest", testservers.ImageOptions{Created: base.Add(4 * time.Hour)})
	repo := r.Repo("app")
	f := false

	tests := map[string]struct {
		sub  haulv1.ImageSubscription
		want []string
	}{
		"semver default":       {haulv1.ImageSubscription{RepoURL: repo}, []string{"2.0.0-rc.1", "v1.2.0", "1.1.0", "1.0.0"}},
		"semver constraint":    {haulv1.ImageSubscription{RepoURL: repo, Constraint: "<1.2.0"}, []string{"1.1.0", "1.0.0"}},
		"semver limit":         {haulv1.ImageSubscription{RepoURL: repo, DiscoveryLimit: 2}, []string{"2.0.0-rc.1", "v1.2.0"}},
		"semver not strict":    {haulv1.ImageSubscription{RepoURL: repo, StrictSemvers: &f, IgnoreTagsRegexes: []string{"rc"}}, []string{"v1.2.0", "1.1.0", "1.0.0"}},
		"lexical":              {haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionLexical}, []string{"v1.2.0", "latest", "2.0.0-rc.1", "1.1.0", "1.0.0"}},
		"lexical allow":        {haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionLexical, AllowTagsRegexes: []string{`^1\.`}}, []string{"1.1.0", "1.0.0"}},
		"digest":               {haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionDigest, Constraint: "latest"}, []string{"latest"}},
		"newest build":         {haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionNewestBuild}, []string{"v1.2.0", "latest", "1.0.0", "2.0.0-rc.1", "1.1.0"}},
		"newest build ignores": {haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionNewestBuild, IgnoreTagsRegexes: []string{"^v", "latest"}}, []string{"1.0.0", "2.0.0-rc.1", "1.1.0"}},
	}
	d := New(Options{CacheDir: t.TempDir()})
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := discover(t, d, haulv1.RepoSubscription{Image: &tt.sub})
			got := tagsOf(res)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
			for _, ref := range res.Images {
				if ref.Digest == "" || ref.CreatedAt == nil {
					t.Errorf("reference %s lacks digest or creation time: %+v", ref.Tag, ref)
				}
			}
		})
	}
	t.Run("creation annotation wins over config", func(t *testing.T) {
		res := discover(t, d, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: repo, Constraint: "1.2.0"}})
		if got := res.Images[0].CreatedAt.Time; !got.Equal(base.Add(5 * time.Hour)) {
			t.Errorf("createdAt = %s, want the annotation's %s", got, base.Add(5*time.Hour))
		}
		if res.Images[0].Annotations[annotationCreated] == "" {
			t.Errorf("annotations not recorded: %v", res.Images[0].Annotations)
		}
	})
	t.Run("digest follows a moved tag", func(t *testing.T) {
		res := discover(t, d, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionDigest, Constraint: "latest"}})
		if res.Images[0].Digest != latest {
			t.Fatalf("digest %s, want %s", res.Images[0].Digest, latest)
		}
		moved := push(t, r, "app", "latest", testservers.ImageOptions{Created: base.Add(6 * time.Hour)})
		res = discover(t, d, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: repo, ImageSelectionStrategy: haulv1.ImageSelectionDigest, Constraint: "latest"}})
		if res.Images[0].Digest != moved {
			t.Fatalf("digest %s after the move, want %s", res.Images[0].Digest, moved)
		}
	})
}

func TestImagePlatform(t *testing.T) {
	r := startRegistry(t)
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	multi, err := r.PushIndex("multi", "1.0.0", []v1.Platform{amd, arm}, testservers.ImageOptions{Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PushIndex("multi", "1.1.0", []v1.Platform{amd}, testservers.ImageOptions{Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	push(t, r, "multi", "1.2.0", testservers.ImageOptions{Platform: &amd, Created: time.Now()})
	push(t, r, "multi", "0.9.0", testservers.ImageOptions{Platform: &arm, Created: time.Now()})
	d := New(Options{CacheDir: t.TempDir()})
	tests := map[string]struct {
		platform string
		want     []string
	}{
		"arm64 skips tags without it": {"linux/arm64", []string{"1.0.0", "0.9.0"}},
		"arm64/v8 variant":            {"linux/arm64/v8", []string{"1.0.0", "0.9.0"}},
		"amd64":                       {"linux/amd64", []string{"1.2.0", "1.1.0", "1.0.0"}},
		"no platform takes all":       {"", []string{"1.2.0", "1.1.0", "1.0.0", "0.9.0"}},
		"absent platform finds none":  {"windows/amd64", nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := discover(t, d, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("multi"), Platform: tt.platform}})
			got := tagsOf(res)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
			for _, ref := range res.Images {
				if ref.Tag == "1.0.0" && ref.Digest != multi {
					t.Errorf("multi-arch tag should record the index digest %s, got %s", multi, ref.Digest)
				}
			}
		})
	}
}

func TestImageQuietPollCostsOneRequest(t *testing.T) {
	r := startRegistry(t)
	for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		push(t, r, "quiet", tag, testservers.ImageOptions{Created: time.Now()})
	}
	var served atomic.Int64
	r.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { served.Add(1); h.ServeHTTP(w, req) })
	}
	d := New(Options{CacheDir: t.TempDir()})
	for _, strategy := range []haulv1.ImageSelectionStrategy{haulv1.ImageSelectionSemVer, haulv1.ImageSelectionLexical, haulv1.ImageSelectionNewestBuild} {
		sub := haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("quiet"), ImageSelectionStrategy: strategy}}
		discover(t, d, sub)
		before := served.Load()
		res := discover(t, d, sub)
		if n := served.Load() - before; n != 1 {
			t.Errorf("%s: quiet poll made %d registry requests, want 1", strategy, n)
		}
		if len(res.Images) != 3 {
			t.Errorf("%s: got %d images", strategy, len(res.Images))
		}
	}
}

func TestImageRegistryFaults(t *testing.T) {
	r := startRegistry(t)
	push(t, r, "faulty", "1.0.0", testservers.ImageOptions{Created: time.Now()})
	sub := haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("faulty")}}
	var mode atomic.Value
	var hits atomic.Int64
	mode.Store("ok")
	r.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/v2/" {
				h.ServeHTTP(w, req)
				return
			}
			hits.Add(1)
			switch mode.Load().(string) {
			case "429":
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"toomanyrequests: HAP429"}]}`))
			case "500":
				http.Error(w, "boom", http.StatusInternalServerError)
			case "slow":
				time.Sleep(3 * time.Second)
				h.ServeHTTP(w, req)
			default:
				h.ServeHTTP(w, req)
			}
		})
	}
	run := func(d *Discoverer) error {
		s, err := d.Subscriber(0, sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err = s.Discover(ctx)
		return err
	}
	t.Run("429 with Retry-After is RateLimited and later calls do not reach the registry", func(t *testing.T) {
		mode.Store("429")
		d := New(Options{CacheDir: t.TempDir()})
		err := run(d)
		rl, ok := IsRateLimited(err)
		if !ok {
			t.Fatalf("got %v, want RateLimitedError", err)
		}
		if rl.RetryAfter != 7*time.Second {
			t.Errorf("RetryAfter = %s, want 7s", rl.RetryAfter)
		}
		before := hits.Load()
		if _, ok := IsRateLimited(run(d)); !ok {
			t.Fatal("second call not rate limited")
		}
		if hits.Load() != before {
			t.Errorf("registry was called again inside the Retry-After window")
		}
	})
	t.Run("429 with credentials too", func(t *testing.T) {
		mode.Store("429")
		d := New(Options{CacheDir: t.TempDir()})
		s, err := d.Subscriber(0, sub, func(context.Context, CredentialKind, string) (*Credentials, error) {
			return &Credentials{Username: "u", Password: "secret-token"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Discover(context.Background())
		if _, ok := IsRateLimited(err); !ok {
			t.Fatalf("got %v, want RateLimitedError", err)
		}
	})
	t.Run("500 is an ordinary error", func(t *testing.T) {
		mode.Store("500")
		err := run(New(Options{CacheDir: t.TempDir()}))
		if err == nil {
			t.Fatal("want an error")
		}
		if _, ok := IsRateLimited(err); ok {
			t.Fatal("500 must not look like rate limiting")
		}
	})
	t.Run("a slow registry hits the request deadline", func(t *testing.T) {
		mode.Store("slow")
		start := time.Now()
		err := run(New(Options{CacheDir: t.TempDir(), RequestTimeout: 500 * time.Millisecond}))
		if err == nil {
			t.Fatal("want a timeout error")
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
	})
	t.Run("rate limit spaces requests", func(t *testing.T) {
		mode.Store("ok")
		d := New(Options{CacheDir: t.TempDir(), RegistryRPS: 2})
		start := time.Now()
		for i := 0; i < 3; i++ {
			if err := run(d); err != nil {
				t.Fatal(err)
			}
		}
		// burst 2, then 2/s: the later requests must wait.
		if time.Since(start) < 500*time.Millisecond {
			t.Errorf("3 polls at 2 rps finished in %s", time.Since(start))
		}
	})
}

func TestImageEndlessPaginationIsCapped(t *testing.T) {
	r := startRegistry(t)
	push(t, r, "endless", "1.0.0", testservers.ImageOptions{Created: time.Now()})
	var pages atomic.Int64
	r.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path != "/v2/endless/tags/list" {
				h.ServeHTTP(w, req)
				return
			}
			n := pages.Add(1)
			w.Header().Set("Link", `</v2/endless/tags/list?last=t`+strconv.FormatInt(n, 10)+`>; rel="next"`)
			_, _ = w.Write([]byte(`{"name":"endless","tags":["1.0.` + strconv.FormatInt(n, 10) + `"]}`))
		})
	}
	d := New(Options{CacheDir: t.TempDir(), MaxTagPages: 25, RegistryRPS: 1000})
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("endless")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than 25 pages") {
		t.Fatalf("got %v, want a page-cap error", err)
	}
	if got := pages.Load(); got != 25 {
		t.Errorf("fetched %d pages, want 25", got)
	}
}

func TestImageManyTagsAcrossPages(t *testing.T) {
	r := startRegistry(t)
	img, err := testservers.RandomImage(testservers.ImageOptions{Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1200; i++ {
		ref, _ := name.ParseReference(r.Repo("many")+":1.0."+strconv.Itoa(i), name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	d := New(Options{CacheDir: t.TempDir(), RegistryRPS: 1000})
	res := discover(t, d, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("many"), DiscoveryLimit: 3}})
	if got := strings.Join(tagsOf(res), ","); got != "1.0.1199,1.0.1198,1.0.1197" {
		t.Fatalf("got %s", got)
	}
}

func TestImageRepushedTagIsNoticedAfterTTL(t *testing.T) {
	r := startRegistry(t)
	push(t, r, "repush", "1.0.0", testservers.ImageOptions{Created: time.Now()})
	d := New(Options{CacheDir: t.TempDir(), TagCacheTTL: time.Minute})
	now := time.Now()
	d.now = func() time.Time { return now }
	sub := haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("repush")}}
	first := discover(t, d, sub).Images[0].Digest
	second := push(t, r, "repush", "1.0.0", testservers.ImageOptions{Created: time.Now()})
	if got := discover(t, d, sub).Images[0].Digest; got != first {
		t.Fatalf("within the TTL the cached digest should be used, got %s", got)
	}
	now = now.Add(2 * time.Minute)
	if got := discover(t, d, sub).Images[0].Digest; got != second {
		t.Fatalf("after the TTL got %s, want the re-pushed %s", got, second)
	}
}

// TestCacheByTagFalseSeesARetaggedImage: with cacheByTag false every poll asks the
// registry what a tag names, so an overwritten tag shows its new digest at once; by
// default the remembered digest is used until it expires.
func TestCacheByTagFalseSeesARetaggedImage(t *testing.T) {
	r := startRegistry(t)
	first := push(t, r, "app", "1.0.0", testservers.ImageOptions{})
	d := New(Options{CacheDir: t.TempDir()})
	no := false
	cached := haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("app")}}
	uncached := haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: r.Repo("app"), CacheByTag: &no}}
	for _, sub := range []haulv1.RepoSubscription{cached, uncached} {
		if got := discover(t, d, sub).Images[0].Digest; got != first {
			t.Fatalf("first poll: digest %s, want %s", got, first)
		}
	}
	second := push(t, r, "app", "1.0.0", testservers.ImageOptions{})
	if got := discover(t, d, cached).Images[0].Digest; got != first {
		t.Errorf("default: digest %s, want the remembered %s", got, first)
	}
	if got := discover(t, d, uncached).Images[0].Digest; got != second {
		t.Errorf("cacheByTag false: digest %s after the tag was overwritten, want %s", got, second)
	}
}

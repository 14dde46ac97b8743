package warehouse

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

func startHelm(t *testing.T) *testservers.HelmRepo {
	t.Helper()
	h, err := testservers.StartHelmRepo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestChartDiscovery(t *testing.T) {
	h := startHelm(t)
	h.AddChart("podinfo", "6.0.0", "6.1.0", "6.1.1", "7.0.0-beta.1", "5.9.9")
	h.AddChart("other", "1.0.0")
	r := startRegistry(t)
	for _, tag := range []string{"0.1.0", "0.2.0", "0.2.1_build.5", "not-a-version"} {
		push(t, r, "charts/app", tag, testservers.ImageOptions{})
	}
	d := New(Options{CacheDir: t.TempDir()})
	tests := map[string]struct {
		sub  haulv1.ChartSubscription
		want []string
	}{
		"classic repo":            {haulv1.ChartSubscription{RepoURL: h.URL, Name: "podinfo"}, []string{"7.0.0-beta.1", "6.1.1", "6.1.0", "6.0.0", "5.9.9"}},
		"classic repo constraint": {haulv1.ChartSubscription{RepoURL: h.URL + "/", Name: "podinfo", SemverConstraint: "^6.0.0"}, []string{"6.1.1", "6.1.0", "6.0.0"}},
		"classic repo limit":      {haulv1.ChartSubscription{RepoURL: h.URL, Name: "podinfo", DiscoveryLimit: 1, SemverConstraint: "<7"}, []string{"6.1.1"}},
		"oci chart":               {haulv1.ChartSubscription{RepoURL: "oci://" + r.Repo("charts/app")}, []string{"0.2.1+build.5", "0.2.0", "0.1.0"}},
		"oci chart constraint":    {haulv1.ChartSubscription{RepoURL: "oci://" + r.Repo("charts/app"), SemverConstraint: "~0.2.0"}, []string{"0.2.1+build.5", "0.2.0"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := discover(t, d, haulv1.RepoSubscription{Chart: &tt.sub})
			if strings.Join(res.Charts, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", res.Charts, tt.want)
			}
		})
	}
	t.Run("unknown chart names the chart", func(t *testing.T) {
		s, _ := d.Subscriber(0, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: h.URL, Name: "nope"}}, nil)
		if _, err := s.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestChartHugeIndexIsCapped(t *testing.T) {
	h := startHelm(t)
	h.Index = func(w http.ResponseWriter) {
		_, _ = w.Write([]byte("apiVersion: v1\nentries:\n  big:\n"))
		line := []byte("  - version: 1.0.0\n    description: " + strings.Repeat("x", 1000) + "\n")
		for i := 0; i < 50000; i++ { // ~50 MB if read in full
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}
	d := New(Options{CacheDir: t.TempDir(), MaxIndexBytes: 1 << 20})
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: h.URL, Name: "big"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Discover(ctx)
	if err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Fatalf("got %v, want a size-limit error", err)
	}
}

func TestInvalidConstraintsNameTheField(t *testing.T) {
	d := New(Options{CacheDir: t.TempDir()})
	tests := map[string]struct {
		sub   haulv1.RepoSubscription
		field string
	}{
		"image semver":    {haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "127.0.0.1:1/x", Constraint: ">=1.x.y"}}, "spec.subscriptions[3].image.constraint"},
		"image tilde":     {haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "127.0.0.1:1/x", Constraint: "~>"}}, "spec.subscriptions[3].image.constraint"},
		"image regex":     {haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "127.0.0.1:1/x", IgnoreTagsRegexes: []string{"ok", "(["}}}, "spec.subscriptions[3].image.ignoreTagsRegexes[1]"},
		"image platform":  {haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "127.0.0.1:1/x", Platform: "linux"}}, "spec.subscriptions[3].image.platform"},
		"digest no tag":   {haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "127.0.0.1:1/x", ImageSelectionStrategy: haulv1.ImageSelectionDigest}}, "spec.subscriptions[3].image.constraint"},
		"git semver":      {haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "http://x/y", CommitSelectionStrategy: haulv1.CommitSelectionSemVer, SemverConstraint: ">=1.x.y"}}, "spec.subscriptions[3].git.semverConstraint"},
		"git include":     {haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "http://x/y", IncludePaths: []string{"regex:("}}}, "spec.subscriptions[3].git.includePaths[0]"},
		"git expression":  {haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "http://x/y", ExpressionFilter: "subject +"}}, "spec.subscriptions[3].git.expressionFilter"},
		"git unknown var": {haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "http://x/y", ExpressionFilter: "tag == 'x'"}}, "spec.subscriptions[3].git.expressionFilter"},
		"chart semver":    {haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: "https://x", Name: "y", SemverConstraint: "~>"}}, "spec.subscriptions[3].chart.semverConstraint"},
		"chart no name":   {haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: "https://x"}}, "spec.subscriptions[3].chart.name"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := d.Subscriber(3, tt.sub, nil)
			if !IsInvalidConstraint(err) {
				t.Fatalf("got %v, want InvalidConstraintError", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestChartQuietPollDownloadsNothing(t *testing.T) {
	h := startHelm(t)
	h.AddChart("app", "1.0.0")
	d := New(Options{CacheDir: t.TempDir()})
	sub := haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: h.URL, Name: "app"}}
	discover(t, d, sub)
	served := 0
	before := h.Requests()
	res := discover(t, d, sub)
	served = int(h.Requests() - before)
	if served != 1 || strings.Join(res.Charts, ",") != "1.0.0" {
		t.Fatalf("quiet poll: %d requests, charts %v", served, res.Charts)
	}
	h.AddChart("app", "1.1.0")
	if res := discover(t, d, sub); strings.Join(res.Charts, ",") != "1.1.0,1.0.0" {
		t.Fatalf("after a new version: %v", res.Charts)
	}
}

func TestChartIndexYAMLBombIsRejected(t *testing.T) {
	h := startHelm(t)
	h.Index = func(w http.ResponseWriter) {
		bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		prev := "a"
		for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
			bomb += n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
			prev = n
		}
		_, _ = w.Write([]byte(bomb + "entries:\n  app:\n  - version: 1.0.0\n"))
	}
	d := New(Options{CacheDir: t.TempDir()})
	s, _ := d.Subscriber(0, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: h.URL, Name: "app"}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The refusal must come from the alias guard: a timeout or a server error would
	// also fail discovery without proving anything.
	_, err := s.Discover(ctx)
	if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Fatalf("a billion-laughs index.yaml: err %v, want the alias-expansion refusal", err)
	}
	if ctx.Err() != nil {
		t.Fatal("discovery of a billion-laughs index.yaml ran into the test's deadline")
	}
}

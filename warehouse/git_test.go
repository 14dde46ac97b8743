package warehouse

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

func startGit(t *testing.T) *testservers.GitServer {
	t.Helper()
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func idsOf(res *Result) []string {
	var out []string
	for _, c := range res.Commits {
		out = append(out, c.ID)
	}
	return out
}

func tagNames(res *Result) []string {
	var out []string
	for _, c := range res.Commits {
		out = append(out, c.Tag)
	}
	return out
}

func TestGitBranchDiscovery(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	c1 := m(g.SeedRepo("app", map[string]string{"README.md": "hi"}))
	c2 := m(g.Commit("app", "main", map[string]string{"src/main.go": "package main"}, "add code"))
	c3 := m(g.Commit("app", "main", map[string]string{"docs/guide.md": "read me"}, "add docs"))
	c4 := m(g.Commit("app", "main", map[string]string{"src/util.go": "package main", "docs/x.md": "x"}, "util and docs"))
	c5 := m(g.Commit("app", "main", map[string]string{"charts/app/values.yaml": "a: 1"}, "chart values"))
	if _, err := testservers.Git(g.Root+"/app.git", "branch", "release", c2); err != nil {
		t.Fatal(err)
	}
	url := g.RepoURL("app")
	d := New(Options{CacheDir: t.TempDir()})
	tests := map[string]struct {
		sub  haulv1.GitSubscription
		want []string
	}{
		"default branch, newest first": {haulv1.GitSubscription{RepoURL: url}, []string{c5, c4, c3, c2, c1}},
		"explicit branch":              {haulv1.GitSubscription{RepoURL: url, Branch: "release"}, []string{c2, c1}},
		"discovery limit":              {haulv1.GitSubscription{RepoURL: url, DiscoveryLimit: 2}, []string{c5, c4}},
		"include prefix":               {haulv1.GitSubscription{RepoURL: url, IncludePaths: []string{"src"}}, []string{c4, c2}},
		"include glob":                 {haulv1.GitSubscription{RepoURL: url, IncludePaths: []string{"glob:docs/*.md"}}, []string{c4, c3}},
		"include regex":                {haulv1.GitSubscription{RepoURL: url, IncludePaths: []string{`regex:values\.yaml$`}}, []string{c5}},
		"exclude prefix":               {haulv1.GitSubscription{RepoURL: url, ExcludePaths: []string{"docs/"}}, []string{c5, c4, c2, c1}},
		"include and exclude":          {haulv1.GitSubscription{RepoURL: url, IncludePaths: []string{"src", "docs"}, ExcludePaths: []string{"glob:docs/*"}}, []string{c4, c2}},
		"expression filter":            {haulv1.GitSubscription{RepoURL: url, ExpressionFilter: `subject contains "docs" && author startsWith "Haul"`}, []string{c4, c3}},
		"expression on id":             {haulv1.GitSubscription{RepoURL: url, ExpressionFilter: `id == "` + c2 + `"`}, []string{c2}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := discover(t, d, haulv1.RepoSubscription{Git: &tt.sub})
			if got := idsOf(res); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
			if c := res.Commits[0]; c.Subject == "" || c.Author == "" || c.CommitterDate == nil || c.Branch == "" {
				t.Errorf("commit metadata missing: %+v", c)
			}
		})
	}
	t.Run("default branch follows remote HEAD", func(t *testing.T) {
		if err := g.SetHead("app", "release"); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = g.SetHead("app", "main") }()
		res := discover(t, New(Options{CacheDir: t.TempDir()}), haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url}})
		if res.Commits[0].ID != c2 || res.Commits[0].Branch != "release" {
			t.Fatalf("got %+v, want %s on release", res.Commits[0], c2)
		}
	})
}

func TestGitTagDiscovery(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	c1 := m(g.SeedRepo("lib", map[string]string{"a": "1"}))
	c2 := m(g.Commit("lib", "main", map[string]string{"src/b": "2"}, "second"))
	c3 := m(g.Commit("lib", "main", map[string]string{"docs/c": "3"}, "third"))
	tag := func(name, ref, msg string) {
		t.Helper()
		if err := g.Tag("lib", name, ref, msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // creator dates have one-second resolution
	}
	tag("v1.0.0", c1, "")
	tag("v1.10.0", c2, "release 1.10")
	tag("v1.2.0", c3, "")
	tag("nightly-b", c1, "nightly")
	tag("nightly-a", c3, "nightly")
	url := g.RepoURL("lib")
	d := New(Options{CacheDir: t.TempDir()})
	tests := map[string]struct {
		sub  haulv1.GitSubscription
		want []string
	}{
		"semver":            {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionSemVer}, []string{"v1.10.0", "v1.2.0", "v1.0.0"}},
		"semver constraint": {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionSemVer, SemverConstraint: "<1.5"}, []string{"v1.2.0", "v1.0.0"}},
		"lexical":           {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionLexical}, []string{"v1.2.0", "v1.10.0", "v1.0.0", "nightly-b", "nightly-a"}},
		"lexical allow":     {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionLexical, AllowTagsRegexes: []string{"^nightly"}}, []string{"nightly-b", "nightly-a"}},
		// Lightweight tags carry their commit's date; annotated tags their own.
		"newest tag":        {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionNewestTag}, []string{"nightly-a", "nightly-b", "v1.10.0", "v1.2.0", "v1.0.0"}},
		"newest tag ignore": {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionNewestTag, IgnoreTagsRegexes: []string{"nightly"}}, []string{"v1.10.0", "v1.2.0", "v1.0.0"}},
		"tag include paths": {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionSemVer, IncludePaths: []string{"src"}}, []string{"v1.10.0"}},
		"tag expression":    {haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionLexical, ExpressionFilter: `annotation == "release 1.10" || tag == "nightly-a"`}, []string{"v1.10.0", "nightly-a"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := discover(t, d, haulv1.RepoSubscription{Git: &tt.sub})
			if got := tagNames(res); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("annotated tags resolve to their commit", func(t *testing.T) {
		res := discover(t, d, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionSemVer, SemverConstraint: "1.10.0"}})
		if res.Commits[0].ID != c2 || res.Commits[0].Subject != "second" {
			t.Fatalf("got %+v, want commit %s", res.Commits[0], c2)
		}
	})
	t.Run("re-tagged commit is found under the new tag", func(t *testing.T) {
		tag("v2.0.0-rc.1", c3, "")
		tag("v2.0.0", c3, "")
		res := discover(t, d, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url, CommitSelectionStrategy: haulv1.CommitSelectionSemVer}})
		if res.Commits[0].Tag != "v2.0.0" || res.Commits[0].ID != c3 {
			t.Fatalf("got %+v", res.Commits[0])
		}
	})
}

func TestGitQuietPollDoesNotFetch(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	m(g.SeedRepo("quiet", map[string]string{"a": "1"}))
	head := m(g.Commit("quiet", "main", map[string]string{"b": "2"}, "two"))
	if err := g.Tag("quiet", "v1.0.0", head, ""); err != nil {
		t.Fatal(err)
	}
	d := New(Options{CacheDir: t.TempDir()})
	for _, sub := range []haulv1.GitSubscription{
		{RepoURL: g.RepoURL("quiet")},
		{RepoURL: g.RepoURL("quiet"), CommitSelectionStrategy: haulv1.CommitSelectionSemVer},
	} {
		discover(t, d, haulv1.RepoSubscription{Git: &sub})
		before := g.Requests()
		res := discover(t, d, haulv1.RepoSubscription{Git: &sub})
		if n := g.Requests() - before; n != 1 {
			t.Errorf("%s: quiet poll made %d requests, want 1 (ls-remote only)", sub.CommitSelectionStrategy, n)
		}
		if res.Commits[0].ID != head {
			t.Errorf("got %s, want %s", res.Commits[0].ID, head)
		}
	}
	// A new commit is fetched incrementally into the same cached repository.
	next := m(g.Commit("quiet", "main", map[string]string{"c": "3"}, "three"))
	res := discover(t, d, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("quiet")}})
	if res.Commits[0].ID != next {
		t.Fatalf("got %s, want %s", res.Commits[0].ID, next)
	}
}

func TestGitForcePush(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	c1 := m(g.SeedRepo("fp", map[string]string{"a": "1"}))
	c2 := m(g.Commit("fp", "main", map[string]string{"b": "2"}, "two"))
	d := New(Options{CacheDir: t.TempDir()})
	sub := haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("fp")}}
	if got := discover(t, d, sub).Commits[0].ID; got != c2 {
		t.Fatalf("got %s", got)
	}
	if _, err := testservers.Git(g.Root+"/fp.git", "update-ref", "refs/heads/main", c1); err != nil {
		t.Fatal(err)
	}
	c3 := m(g.Commit("fp", "main", map[string]string{"c": "3"}, "rewritten"))
	res := discover(t, d, sub)
	if got := idsOf(res); strings.Join(got, ",") != c3+","+c1 {
		t.Fatalf("after force-push got %v, want [%s %s]", got, c3, c1)
	}
}

func TestGitStalledServer(t *testing.T) {
	addr, stop, err := testservers.StallingServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	d := New(Options{CacheDir: t.TempDir(), RequestTimeout: time.Second})
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "http://" + addr + "/stall.git"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Discover(context.Background())
	if err == nil {
		t.Fatal("want an error from a stalled server")
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("stalled server held the worker for %s", el)
	}
}

func TestGitCredentialsAndRedaction(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	head := m(g.SeedRepo("private", map[string]string{"a": "1"}))
	g.Username, g.Password = "bot", "s3cr3t-token"
	d := New(Options{CacheDir: t.TempDir()})
	sub := haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("private")}}
	s, _ := d.Subscriber(0, sub, nil)
	if _, err := s.Discover(context.Background()); err == nil {
		t.Fatal("anonymous access to a private repository should fail")
	}
	s, _ = d.Subscriber(0, sub, func(_ context.Context, kind CredentialKind, url string) (*Credentials, error) {
		if kind != CredentialGit {
			t.Errorf("asked for %s credentials", kind)
		}
		return &Credentials{Username: "bot", Password: "s3cr3t-token"}, nil
	})
	res, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Commits[0].ID != head {
		t.Fatalf("got %s", res.Commits[0].ID)
	}
	s, _ = d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: strings.Replace(g.RepoURL("nope"), "http://", "http://bot:s3cr3t-token@", 1)}}, nil)
	if _, err := s.Discover(context.Background()); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks the token or is missing: %v", err)
	}
}

// TestGitSinceAndBlobless: Kargo's since keeps commits (and tags) older than the cutoff
// out of discovery, and blobless discovery finds the same commits as a full fetch.
func TestGitSinceAndBlobless(t *testing.T) {
	g := startGit(t)
	m := must[string](t)
	c1 := m(g.SeedRepo("app", map[string]string{"README.md": "hi"}))
	c2 := m(g.Commit("app", "main", map[string]string{"src/main.go": "package main"}, "add code"))
	url := g.RepoURL("app")
	d := New(Options{CacheDir: t.TempDir()})
	yes := true
	res := discover(t, d, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url, Blobless: &yes, IncludePaths: []string{"src"}}})
	if got := idsOf(res); strings.Join(got, ",") != c2 {
		t.Fatalf("blobless discovery with includePaths found %v, want [%s]", got, c2)
	}
	past := metav1.NewTime(time.Now().Add(-time.Hour))
	res = discover(t, d, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url, Since: &past}})
	if got := idsOf(res); strings.Join(got, ",") != c2+","+c1 {
		t.Fatalf("since an hour ago found %v, want both commits", got)
	}
	future := metav1.NewTime(time.Now().Add(time.Hour))
	s, err := d.Subscriber(0, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: url, Since: &future}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Discover(context.Background()); err == nil && len(r.Commits) > 0 {
		t.Fatalf("since an hour ahead still found %v", idsOf(r))
	}
}

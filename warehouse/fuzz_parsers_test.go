package warehouse

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// FuzzPathMatchers: any include/exclude entry compiles or is refused as an
// InvalidConstraintError naming it, matching never panics, and a plain entry (a base
// directory) only ever matches that directory and what lies beneath it.
func FuzzPathMatchers(f *testing.F) {
	for _, s := range []string{"src", "/src/", "", ".", "..", "glob:docs/**/*.md", "glob:[", "regex:^a/", "regexp:(", "a/../b", "src2"} {
		f.Add(s, "src/a.go")
		f.Add(s, "src2/b.go")
	}
	f.Fuzz(func(t *testing.T, spec, p string) {
		ms, err := compilePathMatchers([]string{spec}, "includePaths")
		if err != nil {
			if !IsInvalidConstraint(err) || !strings.Contains(err.Error(), "includePaths[0]") {
				t.Fatalf("%q: error %v does not name the entry", spec, err)
			}
			return
		}
		got := ms[0](p)
		if strings.HasPrefix(spec, "glob:") || strings.HasPrefix(spec, "regex:") || strings.HasPrefix(spec, "regexp:") {
			return
		}
		base := path.Clean(strings.Trim(spec, "/"))
		cp := path.Clean(p)
		if got && base != "." && cp != base && !strings.HasPrefix(cp, base+"/") {
			t.Fatalf("plain entry %q matched %q, which is not beneath %q", spec, p, base)
		}
	})
}

// FuzzParseCreated: an image's created annotation is read only when it is RFC 3339;
// anything else is "no time", never a panic or a wrong time.
func FuzzParseCreated(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.999999999+01:00", "yesterday", "", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := parseCreated(map[string]string{annotationCreated: v})
		if got.IsZero() {
			return
		}
		want, err := time.Parse(time.RFC3339, v)
		if err != nil || !want.Equal(got) {
			t.Fatalf("%q read as %v", v, got)
		}
	})
}

// FuzzCriteria: freightCreationCriteria expressions compile or are refused, and a
// compiled one evaluates over Freight contents without panicking.
func FuzzCriteria(f *testing.F) {
	for _, s := range []string{
		`imageFrom("ghcr.io/acme/app").Tag == commitFrom("https://git.example/acme/app").Tag`,
		`len(images) > 0`, `true`, `imageFrom(`, `1 / 0 == 1`, `imageFrom("x").Tag matches "^v"`,
	} {
		f.Add(s, "v1.0.0", "v1.0.0")
	}
	f.Fuzz(func(t *testing.T, src, tag, commitTag string) {
		c, err := CompileCriteria(src)
		if err != nil {
			return
		}
		_, _ = c.Allows(
			[]haulv1.Image{{RepoURL: "ghcr.io/acme/app", Tag: tag}},
			[]haulv1.GitCommit{{RepoURL: "https://git.example/acme/app", ID: "0123456789abcdef0123456789abcdef01234567", Tag: commitTag}},
			[]haulv1.Chart{{RepoURL: "oci://ghcr.io/acme/charts", Name: "app", Version: "1.0.0"}},
		)
	})
}

// FuzzHelmIndex: any index.yaml parses or is refused; a parsed one has no chart
// without a name, and nothing panics on hostile YAML.
func FuzzHelmIndex(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nentries:\n  app:\n  - version: 1.0.0\n  - version: 1.1.0\n",
		"entries: {}\n", "entries:\n  '': [{version: x}]\n", "a: &a [*a]\n", "entries:\n  app: 3\n", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := parseHelmIndex(b)
		if err != nil {
			return
		}
		for name, list := range vs {
			if list == nil {
				t.Fatalf("chart %q has a nil version list", name)
			}
		}
	})
}

// FuzzTagListPagination: a registry answering tag-list pages with any body and any
// Link header can neither send discovery to another host (where the registry's
// credentials would follow) nor keep it paging past the page limit.
func FuzzTagListPagination(f *testing.F) {
	f.Add(`{"name":"app","tags":["1.0.0","1.1.0"]}`, `</v2/app/tags/list?last=1.1.0&n=2>; rel="next"`)
	f.Add(`{"tags":null}`, `<http://169.254.169.254/latest/meta-data>; rel="next"`)
	f.Add(`{"tags":["a"]}`, `<//evil.example/v2/app/tags/list>; rel="next"`)
	f.Add(`not json`, ``)
	f.Add(`{"tags":["x"]}`, `</v2/app/tags/list?n=1>; rel="next"`)
	f.Fuzz(func(t *testing.T, body, link string) {
		var foreign atomic.Int64
		var requests atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if r.URL.Path == "/v2/" {
				w.WriteHeader(http.StatusOK)
				return
			}
			if link != "" {
				w.Header().Set("Link", link)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprint(w, body)
		}))
		defer srv.Close()
		u, _ := url.Parse(srv.URL)
		repo, err := name.NewRepository(u.Host+"/app", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		// Any request leaving for another host is counted and refused.
		guard := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host != u.Host {
				foreign.Add(1)
				return nil, fmt.Errorf("request to foreign host %q", r.URL.Host)
			}
			return http.DefaultTransport.RoundTrip(r)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := remote.NewPuller(remote.WithTransport(guard), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_ = listRepoTags(ctx, p, repo, 3, func(string) {})
		if n := foreign.Load(); n > 0 {
			t.Fatalf("Link %q sent %d requests to another host", link, n)
		}
		if n := requests.Load(); n > 3+2 {
			t.Fatalf("Link %q made %d requests for at most 3 pages", link, n)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzExpressionFilter: a Git subscription's expressionFilter, over commits and over
// tags, compiles or is refused as an InvalidConstraintError naming the field; a
// compiled filter runs on any commit or tag without a panic and answers a bool; an
// empty filter lets everything through.
func FuzzExpressionFilter(f *testing.F) {
	for _, s := range []string{
		`subject contains "release"`, `author == "bot"`, `commitDate > date("2024-01-01")`,
		`tag matches "^v[0-9]+"`, `annotation != ""`, `creatorDate.Year() >= 2024`, ``, `subject(`,
		`id[0:7] == "0123456"`, `1 / 0 == 1`, `true ? subject : 1`, `{"a": 1}.a == 1`,
	} {
		f.Add(s, "fix: release 1.2", "v1.2.0", int64(1700000000))
	}
	f.Fuzz(func(t *testing.T, src, text, tag string, unix int64) {
		date := time.Unix(unix%(1<<34), 0).UTC()
		envs := map[string]map[string]any{
			"commits": commitEnv("0123456789abcdef0123456789abcdef01234567", text, text, text, date),
			"tags":    tagEnv(tag, "0123456789abcdef0123456789abcdef01234567", text, text, date),
		}
		for kind, env := range envs {
			field := "spec.subscriptions[0].git.expressionFilter"
			p, err := compileFilter(src, field, env)
			if err != nil {
				if !IsInvalidConstraint(err) || !strings.Contains(err.Error(), field) {
					t.Fatalf("%s %q: error %v does not name the field", kind, src, err)
				}
				continue
			}
			if src == "" && p != nil {
				t.Fatalf("an empty filter compiled to a program")
			}
			ok, err := runFilter(p, env)
			if src == "" && (!ok || err != nil) {
				t.Fatalf("an empty filter refused a %s entry: %v", kind, err)
			}
			if err != nil && ok {
				t.Fatalf("%s %q: failed evaluation %v let the entry through", kind, src, err)
			}
		}
	})
}

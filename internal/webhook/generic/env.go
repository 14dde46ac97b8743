package generic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
)

// Request is what expressions see as `request`.
type Request struct {
	// Body is the request body decoded as JSON; nil when the body is empty.
	Body any `expr:"body"`
	// Header returns the first value of a header (case-insensitive), or "".
	Header func(string) string `expr:"header"`
	// Headers returns every value of a header, or an empty list.
	Headers func(string) []string `expr:"headers"`
	// Params returns the first value of a query parameter, or "".
	Params func(string) string `expr:"params"`
}

// Env is the whole environment of an action's expressions. Its fields are all an
// expression may name: anything else is refused when compiled.
type Env struct {
	Request        Request             `expr:"request"`
	Params         map[string]string   `expr:"params"`
	NormalizeGit   func(string) string `expr:"normalizeGit"`
	NormalizeImage func(string) string `expr:"normalizeImage"`
	NormalizeChart func(string) string `expr:"normalizeChart"`
}

// NewEnv builds the environment of one request. A body that is not JSON is an error
// (Kargo answers it with 400); an empty body is a nil request.body.
func NewEnv(r *http.Request, body []byte) (Env, error) {
	var b any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &b); err != nil {
			return Env{}, fmt.Errorf("request body is not JSON: %w", err)
		}
	}
	h := r.Header.Clone()
	q := r.URL.Query()
	return Env{
		Request: Request{
			Body:   b,
			Header: h.Get,
			Headers: func(k string) []string {
				if v := h.Values(k); v != nil {
					return v
				}
				return []string{}
			},
			Params: q.Get,
		},
		Params:         map[string]string{},
		NormalizeGit:   NormalizeGit,
		NormalizeImage: NormalizeImage,
		NormalizeChart: NormalizeChart,
	}, nil
}

// typeEnv is the shape expressions are type-checked against.
func typeEnv() Env {
	return Env{
		Request: Request{
			Header:  func(string) string { return "" },
			Headers: func(string) []string { return nil },
			Params:  func(string) string { return "" },
		},
		NormalizeGit: NormalizeGit, NormalizeImage: NormalizeImage, NormalizeChart: NormalizeChart,
	}
}

// sanitize drops unprintable runes and surrounding space, as Kargo does before
// normalising.
func sanitize(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s))
}

// NormalizeGit gives a Git URL Kargo's canonical form, so expressions compare URLs as
// Kargo's do: lowercase, no user info, no trailing slash or ".git"; scp-like
// user@host:path becomes ssh://user@host/path. A URL it cannot read comes back as is.
// (Haul's index match, subscribedURLs, normalises both sides again, so this form need
// not be Haul's.)
func NormalizeGit(repo string) string {
	orig := repo
	repo = sanitize(strings.ToLower(repo))
	trim := func(p string) string { return strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".git") }
	switch {
	case strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "ssh://"):
		u, err := url.Parse(repo)
		if err != nil || len(u.Query()) > 0 {
			return orig
		}
		if u.Scheme != "ssh" {
			u.User = nil
		}
		u.Path = trim(u.Path)
		u.RawPath = ""
		return u.String()
	}
	userHost, path, _ := strings.Cut(repo, ":")
	if userHost == "" || strings.ContainsAny(userHost, "/ ") {
		return orig
	}
	path = trim(path)
	if path == "" {
		return "ssh://" + userHost
	}
	return "ssh://" + userHost + "/" + path
}

// NormalizeImage gives an image repository Kargo's canonical form: Docker Hub's hosts
// and its library/ prefix dropped, other registries kept, tag and digest dropped,
// lowercase. A reference it cannot read comes back as is.
func NormalizeImage(repo string) string {
	orig := repo
	ref, err := name.ParseReference(sanitize(strings.ToLower(repo)), name.WeakValidation)
	if err != nil {
		return orig
	}
	reg, path := ref.Context().RegistryStr(), ref.Context().RepositoryStr()
	if reg == name.DefaultRegistry || reg == "registry-1.docker.io" {
		return strings.TrimPrefix(path, "library/")
	}
	return reg + "/" + path
}

// NormalizeChart gives a chart repository URL Kargo's canonical form: oci:// dropped,
// then as NormalizeImage.
func NormalizeChart(repo string) string {
	orig := repo
	s := sanitize(repo)
	if _, err := url.Parse(s); err != nil {
		return orig
	}
	return NormalizeImage(strings.TrimPrefix(strings.ToLower(s), "oci://"))
}

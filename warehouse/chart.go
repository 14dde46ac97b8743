package warehouse

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/redact"
)

type chartSubscriber struct {
	d        *Discoverer
	field    string
	subName  string
	spec     haulv1.ChartSubscription
	selector *TagSelector
	oci      *name.Repository
	creds    CredentialsFunc
}

func (d *Discoverer) newChartSubscriber(field, subName string, spec haulv1.ChartSubscription, creds CredentialsFunc) (*chartSubscriber, error) {
	s := &chartSubscriber{d: d, field: field, subName: subName, spec: spec, creds: creds}
	sel, err := NewTagSelector(TagSelectorOptions{
		Strategy: StrategySemVer, Constraint: spec.SemverConstraint, Strict: false,
		Limit: limitOf(spec.DiscoveryLimit), FieldPrefix: field, ConstraintName: "semverConstraint",
	})
	if err != nil {
		return nil, err
	}
	s.selector = sel
	switch {
	case strings.HasPrefix(spec.RepoURL, "oci://"):
		if spec.Name != "" {
			return nil, &InvalidConstraintError{Field: field + ".name", Value: spec.Name, Err: fmt.Errorf("must be empty for an oci:// chart")}
		}
		repo, err := parseRepository(strings.TrimPrefix(spec.RepoURL, "oci://"))
		if err != nil {
			return nil, &InvalidConstraintError{Field: field + ".repoURL", Value: spec.RepoURL, Err: err}
		}
		s.oci = &repo
	case strings.HasPrefix(spec.RepoURL, "https://"), strings.HasPrefix(spec.RepoURL, "http://"):
		if spec.Name == "" {
			return nil, &InvalidConstraintError{Field: field + ".name", Value: "", Err: fmt.Errorf("required for an http(s) chart repository")}
		}
	default:
		return nil, &InvalidConstraintError{Field: field + ".repoURL", Value: spec.RepoURL, Err: fmt.Errorf("want https://, http:// or oci://")}
	}
	return s, nil
}

func (s *chartSubscriber) Discover(ctx context.Context) (*Result, error) {
	res := &Result{Kind: KindChart, SubscriptionName: s.subName, RepoURL: s.spec.RepoURL, Name: s.spec.Name}
	c := s.selector.Collector()
	if s.oci != nil {
		p, err := s.d.puller(ctx, *s.oci, CredentialHelm, s.spec.RepoURL, s.spec.InsecureSkipTLSVerify, s.creds)
		if err != nil {
			return nil, err
		}
		// OCI tags cannot hold "+", so Helm stores build metadata as "_".
		if err := listRepoTags(ctx, p, *s.oci, s.d.opts.MaxTagPages, func(t string) { c.Add(strings.ReplaceAll(t, "_", "+")) }); err != nil {
			return nil, err
		}
	} else {
		versions, err := s.indexVersions(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			c.Add(v)
		}
	}
	res.Charts = c.Result()
	return res, nil
}

// helmIndex is the part of a classic repository's index.yaml Haul reads.
type helmIndex struct {
	Entries map[string][]struct {
		Version string `json:"version"`
	} `json:"entries"`
}

// indexVersions downloads index.yaml (size-capped, with a deadline) and returns the
// versions listed for the chart.
func (s *chartSubscriber) indexVersions(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.RequestTimeout)
	defer cancel()
	u := strings.TrimSuffix(s.spec.RepoURL, "/") + "/index.yaml"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &InvalidConstraintError{Field: s.field + ".repoURL", Value: s.spec.RepoURL, Err: err}
	}
	if s.creds != nil {
		c, err := s.creds(ctx, CredentialHelm, s.spec.RepoURL)
		if err != nil {
			return nil, fmt.Errorf("looking up helm credentials for %s: %w", s.spec.RepoURL, err)
		}
		if c != nil {
			req.SetBasicAuth(c.Username, c.Password)
		}
	}
	cached := s.d.cachedIndex(u)
	if cached != nil {
		if cached.etag != "" {
			req.Header.Set("If-None-Match", cached.etag)
		}
		if cached.lastModified != "" {
			req.Header.Set("If-Modified-Since", cached.lastModified)
		}
	}
	client := &http.Client{Transport: &limitedTransport{
		base:     newBaseTransport(s.spec.InsecureSkipTLSVerify, s.d.opts.RequestTimeout),
		limiters: s.d.limiters, requests: &s.d.requests, now: s.d.now,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %s", redact.String(u), redact.String(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		return cached.versionsOf(s.spec.Name, s.spec.RepoURL)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s", redact.String(u), resp.Status)
	}
	if resp.ContentLength > s.d.opts.MaxIndexBytes {
		return nil, fmt.Errorf("fetching %s: %w", redact.String(u), &errTooLarge{what: "index.yaml", limit: s.d.opts.MaxIndexBytes})
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.d.opts.MaxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", redact.String(u), err)
	}
	if int64(len(body)) > s.d.opts.MaxIndexBytes {
		return nil, fmt.Errorf("fetching %s: %w", redact.String(u), &errTooLarge{what: "index.yaml", limit: s.d.opts.MaxIndexBytes})
	}
	versions, err := parseHelmIndex(body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", redact.String(u), err)
	}
	entry := &indexEntry{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"), versions: versions}
	if entry.etag != "" || entry.lastModified != "" {
		s.d.indexes.Store(u, entry)
	}
	return entry.versionsOf(s.spec.Name, s.spec.RepoURL)
}

// parseHelmIndex reads a Helm repository's index.yaml into chart name → versions, in
// the index's order.
func parseHelmIndex(body []byte) (map[string][]string, error) {
	var idx helmIndex
	if err := yaml.Unmarshal(body, &idx); err != nil {
		return nil, err
	}
	versions := make(map[string][]string, len(idx.Entries))
	for name, list := range idx.Entries {
		vs := make([]string, 0, len(list))
		for _, e := range list {
			vs = append(vs, e.Version)
		}
		versions[name] = vs
	}
	return versions, nil
}

// indexEntry is a parsed index.yaml kept with its validators, so a quiet poll of a
// repository that honours conditional requests downloads nothing.
type indexEntry struct {
	etag, lastModified string
	versions           map[string][]string
}

func (e *indexEntry) versionsOf(name, repoURL string) ([]string, error) {
	vs, ok := e.versions[name]
	if !ok {
		return nil, fmt.Errorf("chart %q not found in %s", name, redact.String(repoURL))
	}
	return vs, nil
}

func (d *Discoverer) cachedIndex(u string) *indexEntry {
	if v, ok := d.indexes.Load(u); ok {
		return v.(*indexEntry)
	}
	return nil
}

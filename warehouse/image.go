package warehouse

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// annotationCreated is the OCI annotation NewestBuild prefers over the config's created.
const annotationCreated = "org.opencontainers.image.created"

// maxNewestBuildCandidates bounds how many tags NewestBuild inspects: each costs up to
// two requests the first time it is seen.
const maxNewestBuildCandidates = 1000

type imageSubscriber struct {
	d        *Discoverer
	field    string
	subName  string
	spec     haulv1.ImageSubscription
	repo     name.Repository
	platform *v1.Platform
	selector *TagSelector
	limit    int
	creds    CredentialsFunc
}

func (d *Discoverer) newImageSubscriber(field, subName string, spec haulv1.ImageSubscription, creds CredentialsFunc) (*imageSubscriber, error) {
	repo, err := parseRepository(spec.RepoURL)
	if err != nil {
		return nil, &InvalidConstraintError{Field: field + ".repoURL", Value: spec.RepoURL, Err: err}
	}
	s := &imageSubscriber{d: d, field: field, subName: subName, spec: spec, repo: repo, limit: limitOf(spec.DiscoveryLimit), creds: creds}
	if spec.Platform != "" {
		p, err := v1.ParsePlatform(spec.Platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, &InvalidConstraintError{Field: field + ".platform", Value: spec.Platform, Err: fmt.Errorf("want os/arch[/variant]")}
		}
		s.platform = p
	}
	strategy := spec.ImageSelectionStrategy
	if strategy == "" {
		strategy = haulv1.ImageSelectionSemVer
	}
	opts := TagSelectorOptions{
		Strategy: StrategyLexical, Strict: strictOf(spec.StrictSemvers),
		AllowTagsRegexes: spec.AllowTagsRegexes, IgnoreTagsRegexes: spec.IgnoreTagsRegexes,
		Limit: s.limit, FieldPrefix: field,
	}
	switch strategy {
	case haulv1.ImageSelectionSemVer:
		opts.Strategy, opts.Constraint = StrategySemVer, spec.Constraint
	case haulv1.ImageSelectionLexical, haulv1.ImageSelectionNewestBuild:
	case haulv1.ImageSelectionDigest:
		if spec.Constraint == "" {
			return nil, &InvalidConstraintError{Field: field + ".constraint", Value: "", Err: fmt.Errorf("the Digest strategy needs the mutable tag to follow")}
		}
		if _, err := name.NewTag(repo.String()+":"+spec.Constraint, name.WeakValidation); err != nil {
			return nil, &InvalidConstraintError{Field: field + ".constraint", Value: spec.Constraint, Err: err}
		}
	default:
		return nil, &InvalidConstraintError{Field: field + ".imageSelectionStrategy", Value: string(strategy), Err: fmt.Errorf("unknown strategy")}
	}
	if s.selector, err = NewTagSelector(opts); err != nil {
		return nil, err
	}
	s.spec.ImageSelectionStrategy = strategy
	return s, nil
}

// parseRepository parses an image repository; registries on loopback addresses are
// spoken to over plain HTTP (go-containerregistry's rule), everything else over HTTPS.
func parseRepository(repoURL string) (name.Repository, error) {
	if strings.ContainsAny(repoURL, "@") {
		return name.Repository{}, fmt.Errorf("repoURL must not carry a digest")
	}
	var opts []name.Option
	host, _, _ := strings.Cut(repoURL, "/")
	if isLoopbackHost(host) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(repoURL, opts...)
}

func isLoopbackHost(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// puller returns a cached registry client for the repository's registry and the
// credentials in use, so the auth handshake happens once, not once per poll.
func (d *Discoverer) puller(ctx context.Context, repo name.Repository, kind CredentialKind, repoURL string, insecure bool, credsFn CredentialsFunc) (*remote.Puller, error) {
	auth := authn.Anonymous
	user := ""
	if credsFn != nil {
		c, err := credsFn(ctx, kind, repoURL)
		if err != nil {
			return nil, fmt.Errorf("looking up %s credentials for %s: %w", kind, repoURL, err)
		}
		if c != nil {
			auth = &authn.Basic{Username: c.Username, Password: c.Password}
			user = c.Username + "\x00" + hashSecret(c.Password)
		}
	}
	key := fmt.Sprintf("%s|%s|%t", repo.RegistryStr(), user, insecure)
	if p, ok := d.pullers.Load(key); ok {
		return p.(*remote.Puller), nil
	}
	tr := &limitedTransport{
		base:     newBaseTransport(insecure, d.opts.RequestTimeout),
		limiters: d.limiters, maxBody: d.opts.MaxResponseBytes, requests: &d.requests, now: d.now,
	}
	p, err := remote.NewPuller(
		remote.WithAuth(auth),
		remote.WithTransport(tr),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
		remote.WithRetryStatusCodes(502, 503, 504),
		remote.WithUserAgent("haul"),
		// No "n" parameter: the registry picks its page size and links to the next
		// page. Asking for n=1000 makes registries that truncate without a Link header
		// (go-containerregistry's own, some mirrors) silently drop newer tags.
		remote.WithPageSize(0),
	)
	if err != nil {
		return nil, err
	}
	actual, _ := d.pullers.LoadOrStore(key, p)
	return actual.(*remote.Puller), nil
}

func (s *imageSubscriber) Discover(ctx context.Context) (*Result, error) {
	p, err := s.d.puller(ctx, s.repo, CredentialImage, s.spec.RepoURL, s.spec.InsecureSkipTLSVerify, s.creds)
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: KindImage, SubscriptionName: s.subName, RepoURL: s.spec.RepoURL, Platform: s.spec.Platform}
	switch s.spec.ImageSelectionStrategy {
	case haulv1.ImageSelectionDigest:
		ref, ok, err := s.resolve(ctx, p, s.spec.Constraint, true)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Images = []haulv1.DiscoveredImageReference{ref}
		}
	case haulv1.ImageSelectionNewestBuild:
		res.Images, err = s.newestBuild(ctx, p)
	default:
		res.Images, err = s.byTag(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	budgetAnnotations(res.Images, maxAnnotationBytes)
	return res, nil
}

// maxAnnotationBytes bounds the annotations one subscription records in status, so
// twenty subscriptions of a hundred references each stay far below etcd's object limit.
const maxAnnotationBytes = 8 << 10

// budgetAnnotations keeps annotations on the best references until the budget is spent.
func budgetAnnotations(refs []haulv1.DiscoveredImageReference, budget int) {
	for i := range refs {
		size := 0
		for k, v := range refs[i].Annotations {
			size += len(k) + len(v)
		}
		if size > budget {
			refs[i].Annotations = nil
			budget = 0
			continue
		}
		budget -= size
	}
}

// listTags streams the tag list page by page into fn, up to MaxTagPages pages.
func (s *imageSubscriber) listTags(ctx context.Context, p *remote.Puller, fn func(string)) error {
	return listRepoTags(ctx, p, s.repo, s.d.opts.MaxTagPages, fn)
}

func listRepoTags(ctx context.Context, p *remote.Puller, repo name.Repository, maxPages int, fn func(string)) error {
	l, err := p.Lister(ctx, repo)
	if err != nil {
		return fmt.Errorf("listing tags of %s: %w", repo, err)
	}
	for pages := 0; l.HasNext(); pages++ {
		if pages >= maxPages {
			return fmt.Errorf("listing tags of %s: more than %d pages", repo, maxPages)
		}
		page, err := l.Next(ctx)
		if err != nil {
			return fmt.Errorf("listing tags of %s: %w", repo, err)
		}
		for _, t := range page.Tags {
			fn(t)
		}
	}
	return nil
}

func (s *imageSubscriber) byTag(ctx context.Context, p *remote.Puller) ([]haulv1.DiscoveredImageReference, error) {
	sel := *s.selector
	if s.platform != nil {
		// Some tags may lack the platform; keep spares so the list can still fill up.
		sel.Limit = min(2*s.limit+10, 200)
	}
	c := sel.Collector()
	if err := s.listTags(ctx, p, c.Add); err != nil {
		return nil, err
	}
	var out []haulv1.DiscoveredImageReference
	for _, tag := range c.Result() {
		ref, ok, err := s.resolve(ctx, p, tag, false)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, ref)
		if len(out) == s.limit {
			break
		}
	}
	return out, nil
}

func (s *imageSubscriber) newestBuild(ctx context.Context, p *remote.Puller) ([]haulv1.DiscoveredImageReference, error) {
	sel := *s.selector
	sel.Limit = maxNewestBuildCandidates
	c := sel.Collector()
	if err := s.listTags(ctx, p, c.Add); err != nil {
		return nil, err
	}
	var refs []haulv1.DiscoveredImageReference
	for _, tag := range c.Result() {
		ref, ok, err := s.resolve(ctx, p, tag, false)
		if err != nil {
			return nil, err
		}
		if ok {
			refs = append(refs, ref)
		}
	}
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i].CreatedAt, refs[j].CreatedAt
		switch {
		case a == nil && b == nil:
			return refs[i].Tag > refs[j].Tag
		case a == nil:
			return false
		case b == nil:
			return true
		case !a.Equal(b):
			return a.After(b.Time)
		}
		return refs[i].Tag > refs[j].Tag
	})
	if len(refs) > s.limit {
		refs = refs[:s.limit]
	}
	return refs, nil
}

// resolve finds the digest and metadata of one tag. ok is false when the tag has no
// image for the subscription's platform. mutable tags (the Digest strategy) are always
// asked for their current digest; other tags use the cache.
func (s *imageSubscriber) resolve(ctx context.Context, p *remote.Puller, tag string, mutable bool) (haulv1.DiscoveredImageReference, bool, error) {
	ref := haulv1.DiscoveredImageReference{Tag: tag}
	tagRef := s.repo.Tag(tag)
	tagKey := s.repo.String() + ":" + tag
	var desc *remote.Descriptor
	digest, cached := s.d.images.tag(tagKey)
	if s.spec.CacheByTag != nil && !*s.spec.CacheByTag {
		cached = false
	}
	if mutable || !cached {
		var err error
		if mutable {
			h, err := p.Head(ctx, tagRef)
			if err != nil {
				return ref, false, fmt.Errorf("resolving %s: %w", tagRef, err)
			}
			digest = h.Digest.String()
		} else {
			desc, err = p.Get(ctx, tagRef)
			if err != nil {
				return ref, false, fmt.Errorf("resolving %s: %w", tagRef, err)
			}
			digest = desc.Digest.String()
			s.d.images.setTag(tagKey, digest)
		}
	}
	ref.Digest = digest
	metaKey := s.repo.String() + "@" + digest + "|" + s.spec.Platform
	meta, ok := s.d.images.meta(metaKey)
	if !ok {
		if desc == nil {
			var err error
			desc, err = p.Get(ctx, s.repo.Digest(digest))
			if err != nil {
				return ref, false, fmt.Errorf("fetching %s@%s: %w", s.repo, digest, err)
			}
		}
		var err error
		meta, err = s.inspect(desc)
		if err != nil {
			return ref, false, fmt.Errorf("inspecting %s: %w", tagRef, err)
		}
		s.d.images.setMeta(metaKey, meta)
	}
	if !meta.ok {
		return ref, false, nil
	}
	if !meta.createdAt.IsZero() {
		t := metav1.NewTime(meta.createdAt.UTC().Truncate(time.Second)) // what the API server keeps
		ref.CreatedAt = &t
	}
	if len(meta.annotations) > 0 {
		ref.Annotations = make(map[string]string, len(meta.annotations))
		for k, v := range meta.annotations {
			ref.Annotations[k] = v
		}
	}
	return ref, true, nil
}

// inspect reads platform availability, creation time and annotations from a manifest.
func (s *imageSubscriber) inspect(desc *remote.Descriptor) (imageMeta, error) {
	if desc.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return imageMeta{}, err
		}
		var chosen *v1.Descriptor
		for i := range im.Manifests {
			m := &im.Manifests[i]
			if !m.MediaType.IsImage() {
				continue
			}
			if s.platform == nil {
				if chosen == nil || (m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == "amd64") {
					chosen = m
				}
				continue
			}
			if m.Platform != nil && m.Platform.Satisfies(*s.platform) {
				chosen = m
				break
			}
		}
		if chosen == nil {
			return imageMeta{ok: s.platform == nil, annotations: trimAnnotations(im.Annotations), createdAt: parseCreated(im.Annotations)}, nil
		}
		idx, err := desc.ImageIndex()
		if err != nil {
			return imageMeta{}, err
		}
		img, err := idx.Image(chosen.Digest)
		if err != nil {
			return imageMeta{}, err
		}
		m, err := imageMetaOf(img, nil)
		if err != nil {
			return imageMeta{}, err
		}
		if t := parseCreated(im.Annotations); !t.IsZero() {
			m.createdAt = t
		}
		if len(im.Annotations) > 0 {
			m.annotations = trimAnnotations(im.Annotations)
		}
		return m, nil
	}
	if !desc.MediaType.IsImage() && desc.MediaType != types.OCIManifestSchema1 {
		return imageMeta{}, fmt.Errorf("unsupported media type %s", desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return imageMeta{}, err
	}
	return imageMetaOf(img, s.platform)
}

func imageMetaOf(img v1.Image, platform *v1.Platform) (imageMeta, error) {
	m, err := img.Manifest()
	if err != nil {
		return imageMeta{}, err
	}
	meta := imageMeta{ok: true, annotations: trimAnnotations(m.Annotations), createdAt: parseCreated(m.Annotations)}
	if meta.createdAt.IsZero() || platform != nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return imageMeta{}, err
		}
		if meta.createdAt.IsZero() {
			meta.createdAt = cf.Created.Time
		}
		if platform != nil {
			got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
			meta.ok = got.Satisfies(*platform)
		}
	}
	return meta, nil
}

func parseCreated(a map[string]string) time.Time {
	v, ok := a[annotationCreated]
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// trimAnnotations keeps status small: at most 20 annotations of at most 256 bytes.
func trimAnnotations(a map[string]string) map[string]string {
	if len(a) == 0 {
		return nil
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		if len(out) == 20 {
			break
		}
		v := a[k]
		if len(k) > 256 {
			continue
		}
		if len(v) > 256 {
			v = v[:256]
		}
		out[k] = v
	}
	return out
}

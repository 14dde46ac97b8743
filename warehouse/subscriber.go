package warehouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
)

// Subscriber discovers the versions one subscription can see, best first, at most the
// subscription's discoveryLimit.
type Subscriber interface {
	Discover(ctx context.Context) (*Result, error)
}

// Result is what one subscription found. Exactly one of Images, Commits or Charts is
// filled, matching the subscription's kind.
type Result struct {
	Kind             Kind
	SubscriptionName string
	RepoURL          string
	// Name is the chart name of a classic chart repository.
	Name string
	// Platform is the image platform the references were resolved to.
	Platform string
	Images   []haulv1.DiscoveredImageReference
	Commits  []haulv1.DiscoveredCommit
	Charts   []string
}

// Kind is the kind of a subscription.
type Kind string

// Subscription kinds.
const (
	KindImage Kind = "image"
	KindGit   Kind = "git"
	KindChart Kind = "chart"
)

// Empty reports whether nothing was found.
func (r *Result) Empty() bool {
	return len(r.Images) == 0 && len(r.Commits) == 0 && len(r.Charts) == 0
}

// Credentials are a username and password (or token) for one repository.
type Credentials struct {
	Username string
	Password string
}

// CredentialKind matches the haul.dev/cred-type label values.
type CredentialKind string

// Credential kinds.
const (
	CredentialGit   CredentialKind = "git"
	CredentialImage CredentialKind = "image"
	CredentialHelm  CredentialKind = "helm"
)

// CredentialsFunc returns credentials for a repository, or nil for anonymous access.
type CredentialsFunc func(ctx context.Context, kind CredentialKind, repoURL string) (*Credentials, error)

// Options tune a Discoverer; zero values mean the defaults.
type Options struct {
	// CacheDir holds the cached bare Git repositories (default: a directory under os.TempDir()).
	CacheDir string
	// RegistryRPS is the request budget per registry host (default 20).
	RegistryRPS float64
	// RequestTimeout bounds every single network call (default 30s).
	RequestTimeout time.Duration
	// MaxResponseBytes caps one registry response, e.g. a tag list page (default 16 MiB).
	MaxResponseBytes int64
	// MaxIndexBytes caps a Helm repository index.yaml (default 20 MiB).
	MaxIndexBytes int64
	// MaxTagPages caps tag-list pagination (default 1000 pages).
	MaxTagPages int
	// TagCacheTTL is how long a tag's digest is trusted before it is asked again
	// (default 1h); tags are treated as immutable in between.
	TagCacheTTL time.Duration
	// GitLowSpeedTime aborts a Git transfer slower than 1 KiB/s for this long (default 30s).
	GitLowSpeedTime time.Duration
	// RateLimitPause is how long a host is left alone after a 429 that carries no
	// usable Retry-After (default DefaultRateLimitPause).
	RateLimitPause time.Duration
	// MaxRetryAfter caps the pause a Retry-After may ask for (default
	// DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration
	// Now is the clock for rate-limit pauses and caches (time.Now when nil); tests
	// replace it.
	Now func() time.Time
	// GitRemotes decides which Git repository URLs subscriptions may name (only
	// network transports; DenyPlainHTTP refuses http:// too).
	GitRemotes gitx.RemotePolicy
}

// Discoverer holds the state shared by all subscriptions: rate limiters, the image
// metadata cache, registry clients, and the Git cache. It is safe for concurrent use and
// meant to live as long as the controller.
type Discoverer struct {
	opts     Options
	limiters *limiters
	images   *imageCache
	pullers  sync.Map // pullerKey → *remote.Puller
	gitLocks sync.Map // cache dir → *sync.Mutex
	gitMemo  sync.Map // memo key → *gitMemo
	indexes  sync.Map // index.yaml URL → *indexEntry
	requests atomic.Int64
	now      func() time.Time
}

// New returns a Discoverer.
func New(opts Options) *Discoverer {
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(os.TempDir(), "haul-discovery")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 16 << 20
	}
	if opts.MaxIndexBytes <= 0 {
		opts.MaxIndexBytes = 20 << 20
	}
	if opts.MaxTagPages <= 0 {
		opts.MaxTagPages = 1000
	}
	if opts.TagCacheTTL <= 0 {
		opts.TagCacheTTL = time.Hour
	}
	if opts.GitLowSpeedTime <= 0 {
		opts.GitLowSpeedTime = 30 * time.Second
	}
	d := &Discoverer{opts: opts, limiters: newLimiters(opts.RegistryRPS, opts.RateLimitPause, opts.MaxRetryAfter), now: time.Now}
	if opts.Now != nil {
		d.now = opts.Now
	}
	d.images = newImageCache(50000, opts.TagCacheTTL, func() time.Time { return d.now() })
	return d
}

// Requests counts HTTP requests made to registries and chart repositories, so tests
// and benchmarks can prove that a quiet poll stays cheap.
func (d *Discoverer) Requests() int64 { return d.requests.Load() }

// Subscriber builds the subscriber for sub (the index-th subscription, used in error
// field paths). Constraint and regex errors come back as InvalidConstraintError.
func (d *Discoverer) Subscriber(index int, sub haulv1.RepoSubscription, creds CredentialsFunc) (Subscriber, error) {
	prefix := fmt.Sprintf("spec.subscriptions[%d]", index)
	switch {
	case sub.Image != nil:
		return d.newImageSubscriber(prefix+".image", sub.Name, *sub.Image, creds)
	case sub.Git != nil:
		return d.newGitSubscriber(prefix+".git", sub.Name, *sub.Git, creds)
	case sub.Chart != nil:
		return d.newChartSubscriber(prefix+".chart", sub.Name, *sub.Chart, creds)
	}
	return nil, &InvalidConstraintError{Field: prefix, Value: "", Err: fmt.Errorf("exactly one of image, git or chart must be set")}
}

func limitOf(n int32) int {
	if n <= 0 {
		return 20
	}
	if n > 100 {
		return 100
	}
	return int(n)
}

func strictOf(b *bool) bool { return b == nil || *b }

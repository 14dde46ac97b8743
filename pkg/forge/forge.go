package forge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Provider names, as a step's `provider` key gives them (Kargo's names).
const (
	ProviderAzure     = "azure"
	ProviderBitbucket = "bitbucket"
	ProviderGitea     = "gitea"
	ProviderGitHub    = "github"
	ProviderGitLab    = "gitlab"
)

// State is where a pull request stands.
type State string

// States of a pull request. A closed pull request was closed without being merged.
const (
	StateOpen   State = "open"
	StateMerged State = "merged"
	StateClosed State = "closed"
)

// PullRequest is what the steps need to know about a pull request, whatever the forge.
type PullRequest struct {
	// Number is the pull request's number in its repository (GitHub's and Gitea's
	// "number", GitLab's "iid").
	Number int64
	// URL is the pull request's web page.
	URL   string
	State State
	// SourceBranch and TargetBranch are the head and base branches.
	SourceBranch, TargetBranch string
	// HeadSHA is the commit at the head of the source branch.
	HeadSHA string
	// MergeCommitSHA is the commit the merge made on the target branch, once merged.
	MergeCommitSHA string
	// MergedBy and ClosedBy are the logins of who merged or closed it, when known.
	MergedBy, ClosedBy string
	// Mergeable is false when the forge says the pull request cannot be merged as it
	// stands; MergeableReason then says why, in the forge's words when it gives any.
	Mergeable       bool
	MergeableReason string
}

// OpenOptions describe a pull request to open.
type OpenOptions struct {
	SourceBranch, TargetBranch string
	Title, Description         string
	Labels                     []string
}

// MergeOptions describe how to merge. Method is forge specific (merge, squash,
// rebase, ...); empty means the forge's default.
type MergeOptions struct {
	Method string
}

// Provider talks to one repository on one forge. Implementations never put the
// credential in an error.
type Provider interface {
	// OpenPR returns the open pull request from SourceBranch to TargetBranch when
	// there is one, so that replaying a step never opens a second; otherwise it opens
	// one. created says which happened.
	OpenPR(ctx context.Context, opts OpenOptions) (pr *PullRequest, created bool, err error)
	// GetPR reads pull request number.
	GetPR(ctx context.Context, number int64) (*PullRequest, error)
	// MergePR merges pull request number and returns it as merged. A pull request
	// merged already is returned as it is. It fails with a *NotMergeableError when
	// the forge refuses, and with ErrClosed when it was closed unmerged.
	MergePR(ctx context.Context, number int64, opts MergeOptions) (*PullRequest, error)
}

// Options configure New.
type Options struct {
	// Provider is one of the Provider* names; empty infers it from the URL's host.
	Provider string
	// RepoURL is the repository's HTTP(S) clone URL.
	RepoURL string
	// Username and Password are the project's git credential for RepoURL. Password is
	// used as the forge's access token.
	Username, Password string
	// InsecureSkipTLSVerify skips verifying the forge's TLS certificate.
	InsecureSkipTLSVerify bool
	// HTTPClient is the client to use; a client with a 30 second timeout when nil.
	HTTPClient *http.Client
}

// Errors a Provider returns, wrapped; test them with errors.Is.
var (
	// ErrUnauthorized means the forge refused the credential (HTTP 401 or 403).
	ErrUnauthorized = errors.New("the forge refused the credential")
	// ErrNotFound means the repository or pull request does not exist, or the
	// credential cannot see it (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrClosed means the pull request was closed without being merged.
	ErrClosed = errors.New("pull request is closed without being merged")
	// ErrUnsupported means no provider handles the repository.
	ErrUnsupported = errors.New("unsupported forge")
)

// NotMergeableError is the forge's refusal to merge, with its reason.
type NotMergeableError struct {
	Number int64
	Reason string
}

func (e *NotMergeableError) Error() string {
	return fmt.Sprintf("pull request %d is not mergeable: %s", e.Number, e.Reason)
}

// New returns the Provider for opts.RepoURL.
func New(opts Options) (Provider, error) {
	repo, err := parseRepoURL(opts.RepoURL)
	if err != nil {
		return nil, err
	}
	name := opts.Provider
	if name == "" {
		if name = Infer(opts.RepoURL); name == "" {
			return nil, fmt.Errorf("repoURL %q: %w: cannot tell the forge from host %q; set provider", redactURL(opts.RepoURL), ErrUnsupported, repo.host)
		}
	}
	hc := httpClient(opts)
	switch name {
	case ProviderGitea:
		return newGitea(repo, opts, hc)
	case ProviderGitHub:
		return newGitHub(repo, opts, hc)
	case ProviderGitLab:
		return newGitLab(opts.RepoURL, opts, hc)
	case ProviderAzure:
		return newAzure(opts.RepoURL, opts, hc)
	case ProviderBitbucket:
		return newBitbucket(opts.RepoURL, opts, hc)
	default:
		return nil, fmt.Errorf("provider %q: %w: must be one of azure, bitbucket, gitea, github and gitlab", name, ErrUnsupported)
	}
}

// Infer names the provider of a repository URL from its host as Kargo does:
// github.com, gitlab.com, bitbucket.org and Azure DevOps by name, and hosts whose name
// contains github, gitlab or gitea. It returns "" for any other host (a self-hosted
// Gitea on an arbitrary name needs provider set).
func Infer(repoURL string) string {
	u, err := url.Parse(repoURL)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "github.com" || strings.HasSuffix(host, ".ghe.com") || strings.Contains(host, "github"):
		return ProviderGitHub
	case host == "gitlab.com" || strings.Contains(host, "gitlab"):
		return ProviderGitLab
	case host == "bitbucket.org":
		return ProviderBitbucket
	case host == "dev.azure.com" || strings.HasSuffix(host, ".visualstudio.com"):
		return ProviderAzure
	case strings.Contains(host, "gitea"):
		return ProviderGitea
	}
	return ""
}

// repoRef is a repository URL split into the forge's base URL and owner/name.
type repoRef struct {
	// base is scheme://host[:port][/prefix], the forge's web root.
	base, host  string
	owner, name string
}

func parseRepoURL(raw string) (repoRef, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return repoRef{}, fmt.Errorf("repoURL %q is not a URL", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return repoRef{}, fmt.Errorf("repoURL %q: pull requests need an http or https URL", redactURL(raw))
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git"), "/"), "/")
	if len(parts) < 2 || parts[len(parts)-1] == "" || parts[len(parts)-2] == "" {
		return repoRef{}, fmt.Errorf("repoURL %q: want <base>/<owner>/<repository>", redactURL(raw))
	}
	prefix := strings.Join(parts[:len(parts)-2], "/")
	base := u.Scheme + "://" + u.Host
	if prefix != "" {
		base += "/" + prefix
	}
	return repoRef{base: base, host: u.Hostname(), owner: parts[len(parts)-2], name: parts[len(parts)-1]}, nil
}

func (r repoRef) String() string { return r.owner + "/" + r.name }

func httpClient(opts Options) *http.Client {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if !opts.InsecureSkipTLSVerify {
		return hc
	}
	c := *hc
	var tr *http.Transport
	if t, ok := hc.Transport.(*http.Transport); ok && t != nil {
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{} //nolint:gosec // MinVersion left to Go's default
	}
	tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the user asked for it with insecureSkipTLSVerify
	c.Transport = tr
	return &c
}

// redactURL drops userinfo from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.Index(raw, "@"); i >= 0 && strings.Contains(raw[:i], "://") {
			return raw[:strings.Index(raw, "://")+3] + "REDACTED@" + raw[i+1:]
		}
		return raw
	}
	u.User = url.User("REDACTED")
	return u.String()
}

// statusError maps an HTTP status from a forge to the package's errors; other
// statuses keep the code.
func statusError(op string, status int, detail string) error {
	var base error
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		base = ErrUnauthorized
	case http.StatusNotFound:
		base = ErrNotFound
	default:
		base = fmt.Errorf("HTTP %d", status)
	}
	if detail != "" {
		return fmt.Errorf("%s: %w: %s", op, base, detail)
	}
	return fmt.Errorf("%s: %w", op, base)
}

// scrub removes secret from a message from a client library.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "REDACTED"))
}

// settled reports whether pr needs no merge: it is merged already (true, nil) or was
// closed unmerged (true, ErrClosed, naming what). Every provider's MergePR asks first.
func settled(pr *PullRequest, what string) (bool, error) {
	switch pr.State {
	case StateMerged:
		return true, nil
	case StateClosed:
		return true, fmt.Errorf("merging %s: %w", what, ErrClosed)
	}
	return false, nil
}

package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/forge"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// minPRPollInterval bounds how often the pull-request steps ask the forge again, so a
// tiny pollInterval cannot hammer it.
const minPRPollInterval = time.Second

// forgeConfig are the keys every pull-request step shares (Kargo's names).
type forgeConfig struct {
	RepoURL string `json:"repoURL"`
	// Provider is azure, bitbucket, gitea, github or gitlab; inferred from the
	// repoURL's host when empty.
	Provider              string `json:"provider,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
}

func (c *forgeConfig) validate() error {
	if strings.TrimSpace(c.RepoURL) == "" {
		return errors.New("repoURL must not be empty")
	}
	switch c.Provider {
	case "", forge.ProviderAzure, forge.ProviderBitbucket, forge.ProviderGitea, forge.ProviderGitHub, forge.ProviderGitLab:
	default:
		return fmt.Errorf("provider %q must be one of azure, bitbucket, gitea, github and gitlab", c.Provider)
	}
	return nil
}

// prNumber is a pull request number that may arrive as a JSON number or, from an
// expression, as a string of digits.
type prNumber int64

// UnmarshalJSON accepts 7 and "7".
func (n *prNumber) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) {
			v, err = int64(f), nil
		}
	}
	if err != nil {
		return fmt.Errorf("prNumber %s is not a whole number", string(b))
	}
	*n = prNumber(v)
	return nil
}

// newForge builds the provider for a step's repository with the project's git
// credential for repoURL.
func newForge(ctx context.Context, sc *promotion.StepContext, c forgeConfig) (forge.Provider, error) {
	auth, err := gitAuth(ctx, sc, c.RepoURL)
	if err != nil {
		return nil, err
	}
	opts := forge.Options{
		Provider:              c.Provider,
		RepoURL:               c.RepoURL,
		InsecureSkipTLSVerify: c.InsecureSkipTLSVerify,
		HTTPClient:            sc.HTTPClient(30 * time.Second),
	}
	if auth != nil {
		opts.Username, opts.Password = auth.Username, auth.Password
	}
	p, err := forge.New(opts)
	if err != nil {
		return nil, promotion.Terminal(err)
	}
	return p, nil
}

// forgeError decides whether a forge error can get better by retrying: a refused
// credential, a missing pull request and an unsupported forge cannot.
func forgeError(err error) error {
	if errors.Is(err, forge.ErrUnauthorized) || errors.Is(err, forge.ErrNotFound) || errors.Is(err, forge.ErrUnsupported) {
		return promotion.Terminal(err)
	}
	return err
}

// pollInterval parses a step's pollInterval, def when empty, at least minPRPollInterval.
func pollInterval(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("pollInterval %q is not a positive duration such as 30s", v)
	}
	return max(d, minPRPollInterval), nil
}

// prOutput is the pr object of the steps' outputs.
func prOutput(pr *forge.PullRequest) map[string]any {
	return map[string]any{
		"id":     pr.Number,
		"url":    pr.URL,
		"open":   pr.State == forge.StateOpen,
		"merged": pr.State == forge.StateMerged,
		"state":  string(pr.State),
	}
}

// maxPRURL is the bound of stepExecutionMetadata[].pullRequest.url.
const maxPRURL = 2048

// prStatus is what a step records of pr in its stepExecutionMetadata; nil when the
// forge gave no usable number or URL (a URL past the API's bound is not recorded
// rather than failing the status write).
func prStatus(pr *forge.PullRequest) *haulv1.PullRequestStatus {
	if pr == nil || pr.Number < 1 || pr.URL == "" || len(pr.URL) > maxPRURL {
		return nil
	}
	return &haulv1.PullRequestStatus{URL: pr.URL, Number: pr.Number, State: haulv1.PullRequestState(pr.State)}
}

// closedMessage says that a pull request was closed unmerged, and by whom.
func closedMessage(pr *forge.PullRequest) string {
	who := "someone"
	if pr.ClosedBy != "" {
		who = pr.ClosedBy
	}
	return fmt.Sprintf("pull request #%d (%s) was closed without being merged by %s", pr.Number, pr.URL, who)
}

// redactRepo is repoURL without credentials, for messages.
func redactRepo(u string) string { return gitx.Redact(u) }

package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"
)

// giteaProvider talks to Gitea (and Forgejo) through Gitea's SDK.
type giteaProvider struct {
	repo  repoRef
	opts  []gitea.ClientOption
	hc    *http.Client
	token string
}

func newGitea(repo repoRef, o Options, hc *http.Client) (Provider, error) {
	opts := []gitea.ClientOption{
		gitea.SetHTTPClient(hc),
		// Skip the SDK's version probe: one request less per call, and no failure
		// against servers that hide their version.
		gitea.SetGiteaVersion(""),
	}
	switch {
	case o.Username != "" && o.Password != "":
		// Gitea accepts an access token as a basic-auth password, and a password too.
		opts = append(opts, gitea.SetBasicAuth(o.Username, o.Password))
	case o.Password != "":
		opts = append(opts, gitea.SetToken(o.Password))
	}
	return &giteaProvider{repo: repo, opts: opts, hc: hc, token: o.Password}, nil
}

func (g *giteaProvider) client(ctx context.Context) (*gitea.Client, error) {
	c, err := gitea.NewClient(g.repo.base, append(slices.Clone(g.opts), gitea.SetContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("gitea client for %s: %w", g.repo.base, scrub(err, g.token))
	}
	return c, nil
}

// OpenPR implements Provider.
func (g *giteaProvider) OpenPR(ctx context.Context, o OpenOptions) (*PullRequest, bool, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, false, err
	}
	for page := 1; page <= 20; page++ {
		prs, resp, err := c.ListRepoPullRequests(g.repo.owner, g.repo.name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50},
			State:       gitea.StateOpen,
		})
		if err != nil {
			return nil, false, g.err(fmt.Sprintf("listing pull requests of %s", g.repo), resp, err)
		}
		for _, pr := range prs {
			if pr.Head != nil && pr.Base != nil && pr.Head.Ref == o.SourceBranch && pr.Base.Ref == o.TargetBranch &&
				(pr.Head.Repository == nil || pr.Head.Repository.FullName == "" || strings.EqualFold(pr.Head.Repository.FullName, g.repo.String())) {
				return g.convert(pr), false, nil
			}
		}
		if len(prs) < 50 {
			break
		}
	}
	pr, resp, err := c.CreatePullRequest(g.repo.owner, g.repo.name, gitea.CreatePullRequestOption{
		Head: o.SourceBranch, Base: o.TargetBranch, Title: o.Title, Body: o.Description,
	})
	if err != nil {
		return nil, false, g.err(fmt.Sprintf("opening a pull request from %s to %s in %s", o.SourceBranch, o.TargetBranch, g.repo), resp, err)
	}
	if len(o.Labels) > 0 {
		if err := g.addLabels(c, pr.Index, o.Labels); err != nil {
			return g.convert(pr), true, err
		}
	}
	return g.convert(pr), true, nil
}

// addLabels adds labels by name; Gitea's API takes label IDs, so names are looked up
// and missing labels are created.
func (g *giteaProvider) addLabels(c *gitea.Client, number int64, names []string) error {
	existing, resp, err := c.ListRepoLabels(g.repo.owner, g.repo.name, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{PageSize: 50}})
	if err != nil {
		return g.err(fmt.Sprintf("listing labels of %s", g.repo), resp, err)
	}
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(existing, func(l *gitea.Label) bool { return l.Name == n })
		if i >= 0 {
			ids = append(ids, existing[i].ID)
			continue
		}
		l, resp, err := c.CreateLabel(g.repo.owner, g.repo.name, gitea.CreateLabelOption{Name: n, Color: "#0075ca"})
		if err != nil {
			return g.err(fmt.Sprintf("creating label %q in %s", n, g.repo), resp, err)
		}
		ids = append(ids, l.ID)
	}
	if _, resp, err := c.AddIssueLabels(g.repo.owner, g.repo.name, number, gitea.IssueLabelsOption{Labels: ids}); err != nil {
		return g.err(fmt.Sprintf("labelling pull request %d", number), resp, err)
	}
	return nil
}

// GetPR implements Provider.
func (g *giteaProvider) GetPR(ctx context.Context, number int64) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	return g.get(c, number)
}

func (g *giteaProvider) get(c *gitea.Client, number int64) (*PullRequest, error) {
	pr, resp, err := c.GetPullRequest(g.repo.owner, g.repo.name, number)
	if err != nil {
		return nil, g.err(fmt.Sprintf("reading pull request %d of %s", number, g.repo), resp, err)
	}
	out := g.convert(pr)
	if out.State == StateClosed {
		out.ClosedBy = g.closer(c, number)
	}
	return out, nil
}

// closer is who last closed the pull request, from its timeline; "" when unknown.
func (g *giteaProvider) closer(c *gitea.Client, number int64) string {
	events, _, err := c.ListIssueTimeline(g.repo.owner, g.repo.name, number, gitea.ListIssueCommentOptions{ListOptions: gitea.ListOptions{PageSize: 50}})
	if err != nil {
		return ""
	}
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Type == "close" && e.Poster != nil {
			return e.Poster.UserName
		}
	}
	return ""
}

// MergePR implements Provider.
func (g *giteaProvider) MergePR(ctx context.Context, number int64, o MergeOptions) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := g.get(c, number)
	if err != nil {
		return nil, err
	}
	if done, err := settled(pr, fmt.Sprintf("pull request %d of %s", number, g.repo)); done {
		return pr, err
	}
	// Gitea checks mergeability in the background after every push and reports
	// false until it is done, so a pull request opened a moment ago is given a few
	// seconds before a conflict is believed.
	for i := 0; !pr.Mergeable && i < 12; i++ {
		select {
		case <-ctx.Done():
			return pr, fmt.Errorf("merging pull request %d of %s: %w", number, g.repo, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
		if pr, err = g.get(c, number); err != nil {
			return nil, err
		}
	}
	if !pr.Mergeable {
		return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
	}
	style := gitea.MergeStyle(o.Method)
	if style == "" {
		style = gitea.MergeStyleMerge
	}
	switch style {
	case gitea.MergeStyleMerge, gitea.MergeStyleRebase, gitea.MergeStyleRebaseMerge, gitea.MergeStyleSquash, gitea.MergeStyleFastForwardOnly:
	default:
		return pr, fmt.Errorf("mergeMethod %q: Gitea merges with merge, rebase, rebase-merge, squash or fast-forward-only", o.Method)
	}
	// The SDK keeps only the status of a refused merge; the message, Gitea's
	// reason, is read from the response on the way.
	capture := &messageCapture{}
	c, err = gitea.NewClient(g.repo.base, append(slices.Clone(g.opts), gitea.SetContext(ctx), gitea.SetHTTPClient(capture.client(g.hc)))...)
	if err != nil {
		return pr, fmt.Errorf("gitea client for %s: %w", g.repo.base, scrub(err, g.token))
	}
	ok, resp, err := c.MergePullRequest(g.repo.owner, g.repo.name, number, gitea.MergePullRequestOption{Style: style, HeadCommitId: pr.HeadSHA})
	if err != nil {
		return pr, g.err(fmt.Sprintf("merging pull request %d of %s", number, g.repo), resp, err)
	}
	if !ok {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		after, gerr := g.get(c, number)
		if gerr == nil && after.State == StateMerged {
			return after, nil
		}
		reason := fmt.Sprintf("Gitea refused the %s merge (HTTP %d)", style, status)
		if m := capture.message(); m != "" {
			reason += ": " + m
		}
		if gerr == nil && !after.Mergeable {
			reason = after.MergeableReason + " (" + reason + ")"
		}
		return pr, &NotMergeableError{Number: number, Reason: reason}
	}
	return g.get(c, number)
}

func (g *giteaProvider) convert(pr *gitea.PullRequest) *PullRequest {
	out := &PullRequest{Number: pr.Index, URL: pr.HTMLURL, Mergeable: pr.Mergeable}
	switch {
	case pr.HasMerged:
		out.State = StateMerged
	case pr.State == gitea.StateClosed:
		out.State = StateClosed
	default:
		out.State = StateOpen
	}
	if pr.Head != nil {
		out.SourceBranch, out.HeadSHA = pr.Head.Ref, pr.Head.Sha
	}
	if pr.Base != nil {
		out.TargetBranch = pr.Base.Ref
	}
	if pr.MergedCommitID != nil {
		out.MergeCommitSHA = *pr.MergedCommitID
	}
	if pr.MergedBy != nil {
		out.MergedBy = pr.MergedBy.UserName
	}
	if !pr.Mergeable && out.State == StateOpen {
		out.MergeableReason = fmt.Sprintf("Gitea reports a conflict between %s and %s", out.SourceBranch, out.TargetBranch)
	}
	return out
}

// err maps an SDK error to the package's errors, without the credential.
func (g *giteaProvider) err(op string, resp *gitea.Response, err error) error {
	if resp != nil && resp.StatusCode >= 400 {
		return statusError(op, resp.StatusCode, scrub(err, g.token).Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, scrub(err, g.token))
}

package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v84/github"
)

// githubProvider talks to GitHub and GitHub Enterprise Server through go-github.
type githubProvider struct {
	repo   repoRef
	client *github.Client
	token  string
}

func newGitHub(repo repoRef, o Options, hc *http.Client) (Provider, error) {
	c := github.NewClient(hc)
	if o.Password != "" {
		c = c.WithAuthToken(o.Password)
	}
	if !strings.EqualFold(repo.host, "github.com") {
		// GitHub Enterprise Server serves its API under /api/v3 of the web root.
		var err error
		if c, err = c.WithEnterpriseURLs(repo.base+"/api/v3/", repo.base+"/api/uploads/"); err != nil {
			return nil, fmt.Errorf("GitHub Enterprise URL %s: %w", repo.base, err)
		}
	}
	return &githubProvider{repo: repo, client: c, token: o.Password}, nil
}

// OpenPR implements Provider.
func (g *githubProvider) OpenPR(ctx context.Context, o OpenOptions) (*PullRequest, bool, error) {
	prs, resp, err := g.client.PullRequests.List(ctx, g.repo.owner, g.repo.name, &github.PullRequestListOptions{
		State: "open", Head: g.repo.owner + ":" + o.SourceBranch, Base: o.TargetBranch,
	})
	if err != nil {
		return nil, false, g.err(fmt.Sprintf("listing pull requests of %s", g.repo), resp, err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == o.SourceBranch && pr.GetBase().GetRef() == o.TargetBranch {
			return g.convert(pr), false, nil
		}
	}
	pr, resp, err := g.client.PullRequests.Create(ctx, g.repo.owner, g.repo.name, &github.NewPullRequest{
		Title: &o.Title, Head: &o.SourceBranch, Base: &o.TargetBranch, Body: &o.Description,
	})
	if err != nil {
		return nil, false, g.err(fmt.Sprintf("opening a pull request from %s to %s in %s", o.SourceBranch, o.TargetBranch, g.repo), resp, err)
	}
	if len(o.Labels) > 0 {
		if _, resp, err := g.client.Issues.AddLabelsToIssue(ctx, g.repo.owner, g.repo.name, pr.GetNumber(), o.Labels); err != nil {
			return g.convert(pr), true, g.err(fmt.Sprintf("labelling pull request %d", pr.GetNumber()), resp, err)
		}
	}
	return g.convert(pr), true, nil
}

// GetPR implements Provider.
func (g *githubProvider) GetPR(ctx context.Context, number int64) (*PullRequest, error) {
	pr, resp, err := g.client.PullRequests.Get(ctx, g.repo.owner, g.repo.name, int(number))
	if err != nil {
		return nil, g.err(fmt.Sprintf("reading pull request %d of %s", number, g.repo), resp, err)
	}
	out := g.convert(pr)
	if out.State == StateClosed {
		// Only the issue view of a pull request says who closed it.
		if is, _, err := g.client.Issues.Get(ctx, g.repo.owner, g.repo.name, int(number)); err == nil {
			out.ClosedBy = is.GetClosedBy().GetLogin()
		}
	}
	return out, nil
}

// MergePR implements Provider.
func (g *githubProvider) MergePR(ctx context.Context, number int64, o MergeOptions) (*PullRequest, error) {
	pr, err := g.GetPR(ctx, number)
	if err != nil {
		return nil, err
	}
	if done, err := settled(pr, fmt.Sprintf("pull request %d of %s", number, g.repo)); done {
		return pr, err
	}
	if !pr.Mergeable {
		return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
	}
	switch o.Method {
	case "", "merge", "squash", "rebase":
	default:
		return pr, fmt.Errorf("mergeMethod %q: GitHub merges with merge, squash or rebase", o.Method)
	}
	res, resp, err := g.client.PullRequests.Merge(ctx, g.repo.owner, g.repo.name, int(number), "",
		&github.PullRequestOptions{MergeMethod: o.Method, SHA: pr.HeadSHA})
	if err != nil {
		var er *github.ErrorResponse
		if resp != nil && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusConflict) && errors.As(err, &er) {
			return pr, &NotMergeableError{Number: number, Reason: "GitHub: " + er.Message}
		}
		return pr, g.err(fmt.Sprintf("merging pull request %d of %s", number, g.repo), resp, err)
	}
	if !res.GetMerged() {
		return pr, &NotMergeableError{Number: number, Reason: "GitHub: " + res.GetMessage()}
	}
	merged, err := g.GetPR(ctx, number)
	if err != nil {
		return nil, err
	}
	if merged.MergeCommitSHA == "" {
		merged.MergeCommitSHA = res.GetSHA()
	}
	return merged, nil
}

// mergeableStates explains GitHub's mergeable_state values that block a merge.
var mergeableStates = map[string]string{
	"dirty":    "the source branch conflicts with the target branch",
	"blocked":  "branch protection blocks the merge (required reviews or checks)",
	"behind":   "the source branch is behind the target branch",
	"unstable": "required status checks are failing",
	"draft":    "the pull request is a draft",
}

func (g *githubProvider) convert(pr *github.PullRequest) *PullRequest {
	out := &PullRequest{
		Number:       int64(pr.GetNumber()),
		URL:          pr.GetHTMLURL(),
		SourceBranch: pr.GetHead().GetRef(),
		TargetBranch: pr.GetBase().GetRef(),
		HeadSHA:      pr.GetHead().GetSHA(),
		MergedBy:     pr.GetMergedBy().GetLogin(),
		// GitHub computes mergeability in the background; null means not known
		// yet, which is no reason to refuse.
		Mergeable: pr.Mergeable == nil || pr.GetMergeable(),
	}
	switch {
	case pr.GetMerged():
		out.State = StateMerged
		out.MergeCommitSHA = pr.GetMergeCommitSHA()
	case pr.GetState() == "closed":
		out.State = StateClosed
	default:
		out.State = StateOpen
	}
	if pr.GetDraft() {
		out.Mergeable = false
	}
	if !out.Mergeable {
		state := pr.GetMergeableState()
		if pr.GetDraft() {
			state = "draft"
		}
		if why, ok := mergeableStates[state]; ok {
			out.MergeableReason = "GitHub: " + why
		} else {
			out.MergeableReason = fmt.Sprintf("GitHub reports mergeable_state %q", state)
		}
	}
	return out
}

func (g *githubProvider) err(op string, resp *github.Response, err error) error {
	if resp != nil && resp.StatusCode >= 400 {
		detail := ""
		var er *github.ErrorResponse
		if errors.As(err, &er) {
			detail = er.Message
			for _, e := range er.Errors {
				if e.Message != "" {
					detail += "; " + e.Message
				}
			}
		}
		return statusError(op, resp.StatusCode, scrub(errors.New(detail), g.token).Error())
	}
	return fmt.Errorf("%s: %w", op, scrub(err, g.token))
}

package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// gitlabProvider talks to GitLab.com and self-managed GitLab through GitLab's client.
// Merge requests are its pull requests; their IID is the number.
type gitlabProvider struct {
	project string
	client  *gitlab.Client
	token   string
}

func newGitLab(repoURL string, o Options, hc *http.Client) (Provider, error) {
	// A GitLab project sits under any depth of groups, so the whole path is the
	// project and the host alone is the base.
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, fmt.Errorf("repoURL %q is not a URL", redactURL(repoURL))
	}
	project := strings.Trim(strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git"), "/")
	c, err := gitlab.NewClient(o.Password, gitlab.WithBaseURL(u.Scheme+"://"+u.Host+"/api/v4"), gitlab.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("gitlab client for %s: %w", u.Host, scrub(err, o.Password))
	}
	return &gitlabProvider{project: project, client: c, token: o.Password}, nil
}

// OpenPR implements Provider.
func (g *gitlabProvider) OpenPR(ctx context.Context, o OpenOptions) (*PullRequest, bool, error) {
	mrs, resp, err := g.client.MergeRequests.ListProjectMergeRequests(g.project, &gitlab.ListProjectMergeRequestsOptions{
		State: gitlab.Ptr("opened"), SourceBranch: &o.SourceBranch, TargetBranch: &o.TargetBranch,
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, false, g.err(fmt.Sprintf("listing merge requests of %s", g.project), resp, err)
	}
	for _, mr := range mrs {
		if mr.SourceBranch == o.SourceBranch && mr.TargetBranch == o.TargetBranch {
			return g.convert(mr), false, nil
		}
	}
	opts := &gitlab.CreateMergeRequestOptions{
		Title: &o.Title, Description: &o.Description, SourceBranch: &o.SourceBranch, TargetBranch: &o.TargetBranch,
	}
	if len(o.Labels) > 0 {
		l := gitlab.LabelOptions(o.Labels)
		opts.Labels = &l
	}
	mr, resp, err := g.client.MergeRequests.CreateMergeRequest(g.project, opts, gitlab.WithContext(ctx))
	if err != nil {
		return nil, false, g.err(fmt.Sprintf("opening a merge request from %s to %s in %s", o.SourceBranch, o.TargetBranch, g.project), resp, err)
	}
	return g.convert(&mr.BasicMergeRequest), true, nil
}

// GetPR implements Provider.
func (g *gitlabProvider) GetPR(ctx context.Context, number int64) (*PullRequest, error) {
	mr, resp, err := g.client.MergeRequests.GetMergeRequest(g.project, number, nil, gitlab.WithContext(ctx))
	if err != nil {
		return nil, g.err(fmt.Sprintf("reading merge request !%d of %s", number, g.project), resp, err)
	}
	return g.convert(&mr.BasicMergeRequest), nil
}

// MergePR implements Provider. Method is merge (the default) or squash; GitLab
// decides fast-forward or merge commits per project.
func (g *gitlabProvider) MergePR(ctx context.Context, number int64, o MergeOptions) (*PullRequest, error) {
	pr, err := g.GetPR(ctx, number)
	if err != nil {
		return nil, err
	}
	if done, err := settled(pr, fmt.Sprintf("merge request !%d of %s", number, g.project)); done {
		return pr, err
	}
	if !pr.Mergeable {
		return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
	}
	opts := &gitlab.AcceptMergeRequestOptions{SHA: &pr.HeadSHA}
	switch o.Method {
	case "", "merge":
	case "squash":
		opts.Squash = gitlab.Ptr(true)
	default:
		return pr, fmt.Errorf("mergeMethod %q: GitLab merges with merge or squash", o.Method)
	}
	mr, resp, err := g.client.MergeRequests.AcceptMergeRequest(g.project, number, opts, gitlab.WithContext(ctx))
	if err != nil {
		var er *gitlab.ErrorResponse
		if resp != nil && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusConflict ||
			resp.StatusCode == http.StatusUnprocessableEntity) && errors.As(err, &er) {
			return pr, &NotMergeableError{Number: number, Reason: "GitLab: " + er.Message}
		}
		return pr, g.err(fmt.Sprintf("merging merge request !%d of %s", number, g.project), resp, err)
	}
	return g.convert(&mr.BasicMergeRequest), nil
}

func (g *gitlabProvider) convert(mr *gitlab.BasicMergeRequest) *PullRequest {
	out := &PullRequest{
		Number: mr.IID, URL: mr.WebURL,
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, HeadSHA: mr.SHA,
		Mergeable: true,
	}
	switch mr.State {
	case "merged":
		out.State = StateMerged
		out.MergeCommitSHA = mr.MergeCommitSHA
		if out.MergeCommitSHA == "" {
			out.MergeCommitSHA = mr.SquashCommitSHA
		}
		if out.MergeCommitSHA == "" {
			// A fast-forward merge makes no commit: the head is what landed.
			out.MergeCommitSHA = mr.SHA
		}
	case "closed", "locked":
		out.State = StateClosed
	default:
		out.State = StateOpen
	}
	if mr.MergeUser != nil {
		out.MergedBy = mr.MergeUser.Username
	}
	if mr.ClosedBy != nil {
		out.ClosedBy = mr.ClosedBy.Username
	}
	switch {
	case mr.HasConflicts:
		out.Mergeable, out.MergeableReason = false, "GitLab: the source branch conflicts with the target branch"
	case mr.DetailedMergeStatus != "" && mr.DetailedMergeStatus != "mergeable" && mr.DetailedMergeStatus != "checking" &&
		mr.DetailedMergeStatus != "unchecked" && out.State == StateOpen:
		out.Mergeable, out.MergeableReason = false, fmt.Sprintf("GitLab: detailed_merge_status is %s", mr.DetailedMergeStatus)
	}
	return out
}

func (g *gitlabProvider) err(op string, resp *gitlab.Response, err error) error {
	if resp != nil && resp.StatusCode >= 400 {
		detail := ""
		var er *gitlab.ErrorResponse
		if errors.As(err, &er) {
			detail = er.Message
		}
		return statusError(op, resp.StatusCode, scrub(errors.New(detail), g.token).Error())
	}
	return fmt.Errorf("%s: %w", op, scrub(err, g.token))
}

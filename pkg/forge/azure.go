package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	adocore "github.com/microsoft/azure-devops-go-api/azuredevops/v7/core"
	adogit "github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/webapi"
	"k8s.io/utils/ptr"
)

// azureMergeStrategies are the mergeMethod values Azure DevOps completes a pull
// request with (Kargo's set). Azure does not check the value itself, so an unknown
// one is refused here.
var azureMergeStrategies = []string{"noFastForward", "rebase", "rebaseMerge", "squash"}

// azureProvider talks to Azure DevOps Services (and Azure DevOps Server) through
// Microsoft's Go client. A pull request is completed, not merged: its status is set
// to completed with a merge strategy, and Azure merges in the background.
type azureProvider struct {
	repo  azureRepo
	conn  *azuredevops.Connection
	hc    *http.Client
	token string
	// settleEvery and settleTries bound how long MergePR waits for Azure to finish
	// checking a merge, and then for a completion to land.
	settleEvery time.Duration
	settleTries int
}

// azureRepo is a repository URL split the way Azure DevOps addresses it.
type azureRepo struct {
	// orgURL is the organization (or, on Azure DevOps Server, the collection) URL
	// the REST API lives under.
	orgURL        string
	project, name string
}

func (r azureRepo) String() string { return r.project + "/" + r.name }

// parseAzureRepoURL accepts Azure DevOps' clone URL forms:
//
//	https://dev.azure.com/{organization}/{project}/_git/{repository}
//	https://{organization}.visualstudio.com[/DefaultCollection]/{project}/_git/{repository}
//	https://{server}/{collection path}/{project}/_git/{repository}   (Azure DevOps Server)
//
// On Azure DevOps Services the project may be left out when it has the repository's
// name (https://dev.azure.com/{organization}/_git/{repository}). The older
// visualstudio.com host is addressed through dev.azure.com, as Kargo does.
func parseAzureRepoURL(raw string) (azureRepo, error) {
	want := fmt.Errorf("repoURL %q: want https://dev.azure.com/<organization>/<project>/_git/<repository> "+
		"or https://<organization>.visualstudio.com/<project>/_git/<repository>", redactURL(raw))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return azureRepo{}, want
	}
	segs := strings.Split(strings.Trim(strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git"), "/"), "/")
	git := -1
	for i, s := range segs {
		if s == "_git" {
			git = i
		}
	}
	if git < 0 || git != len(segs)-2 || segs[git+1] == "" {
		return azureRepo{}, want
	}
	before, name := segs[:git], segs[git+1]
	for _, s := range before {
		if s == "" {
			return azureRepo{}, want
		}
	}
	host := strings.ToLower(u.Hostname())
	r := azureRepo{name: name}
	switch {
	case host == "dev.azure.com":
		if len(before) < 1 || len(before) > 2 {
			return azureRepo{}, want
		}
		r.orgURL = "https://dev.azure.com/" + url.PathEscape(before[0])
		r.project = name
		if len(before) == 2 {
			r.project = before[1]
		}
	case strings.HasSuffix(host, ".visualstudio.com"):
		if len(before) > 0 && strings.EqualFold(before[0], "DefaultCollection") {
			before = before[1:]
		}
		if len(before) > 1 {
			return azureRepo{}, want
		}
		r.orgURL = "https://dev.azure.com/" + url.PathEscape(strings.TrimSuffix(host, ".visualstudio.com"))
		r.project = name
		if len(before) == 1 {
			r.project = before[0]
		}
	default:
		// Azure DevOps Server: the collection is everything before the project.
		if len(before) < 2 {
			return azureRepo{}, fmt.Errorf("repoURL %q: want <server>/<collection>/<project>/_git/<repository> for Azure DevOps Server", redactURL(raw))
		}
		collection := make([]string, 0, len(before)-1)
		for _, s := range before[:len(before)-1] {
			collection = append(collection, url.PathEscape(s))
		}
		r.orgURL = u.Scheme + "://" + u.Host + "/" + strings.Join(collection, "/")
		r.project = before[len(before)-1]
	}
	return r, nil
}

func newAzure(repoURL string, o Options, hc *http.Client) (Provider, error) {
	repo, err := parseAzureRepoURL(repoURL)
	if err != nil {
		return nil, err
	}
	if o.Password == "" {
		return nil, fmt.Errorf("repository %s: %w: Azure DevOps needs a personal access token as the git credential's password", repo, ErrUnauthorized)
	}
	// A personal access token is the password of basic auth; the user name is ignored.
	conn := azuredevops.NewPatConnection(repo.orgURL, o.Password)
	return &azureProvider{repo: repo, conn: conn, hc: hc, token: o.Password, settleEvery: time.Second, settleTries: 10}, nil
}

// client is a Git client for one call, with its own record of the error response.
// The client is built on the organization URL directly: that is where Azure serves
// the Git area on both Services and Server, and the client's resource-area lookup
// (adogit.NewClient) would cost a request and use an HTTP client of its own.
func (a *azureProvider) client() (adogit.Client, *messageCapture) {
	capture := &messageCapture{}
	c := azuredevops.NewClientWithOptions(a.conn, a.conn.BaseUrl, azuredevops.WithHTTPClient(capture.client(a.hc)))
	return &adogit.ClientImpl{Client: *c}, capture
}

// OpenPR implements Provider.
func (a *azureProvider) OpenPR(ctx context.Context, o OpenOptions) (*PullRequest, bool, error) {
	c, capture := a.client()
	source, target := "refs/heads/"+o.SourceBranch, "refs/heads/"+o.TargetBranch
	prs, err := c.GetPullRequests(ctx, adogit.GetPullRequestsArgs{
		Project: &a.repo.project, RepositoryId: &a.repo.name,
		SearchCriteria: &adogit.GitPullRequestSearchCriteria{
			Status:        ptr.To(adogit.PullRequestStatusValues.Active),
			SourceRefName: &source, TargetRefName: &target,
		},
	})
	if err != nil {
		return nil, false, a.err(fmt.Sprintf("listing pull requests of %s", a.repo), capture, err)
	}
	if prs != nil {
		for i := range *prs {
			pr := &(*prs)[i]
			// A fork's pull request names its own repository's ref the same way.
			if ptr.Deref(pr.SourceRefName, "") == source && ptr.Deref(pr.TargetRefName, "") == target && pr.ForkSource == nil {
				return a.convert(pr), false, nil
			}
		}
	}
	// Azure creates pull requests on the repository's ID, not its name.
	repo, err := c.GetRepository(ctx, adogit.GetRepositoryArgs{Project: &a.repo.project, RepositoryId: &a.repo.name})
	if err != nil {
		return nil, false, a.err(fmt.Sprintf("reading repository %s", a.repo), capture, err)
	}
	if repo.Id == nil {
		return nil, false, fmt.Errorf("reading repository %s: Azure DevOps returned no repository id", a.repo)
	}
	labels := make([]adocore.WebApiTagDefinition, 0, len(o.Labels))
	for _, l := range o.Labels {
		labels = append(labels, adocore.WebApiTagDefinition{Name: ptr.To(l)})
	}
	pr, err := c.CreatePullRequest(ctx, adogit.CreatePullRequestArgs{
		Project: &a.repo.project, RepositoryId: ptr.To(repo.Id.String()),
		GitPullRequestToCreate: &adogit.GitPullRequest{
			Title: &o.Title, Description: &o.Description, Labels: &labels,
			SourceRefName: &source, TargetRefName: &target,
		},
	})
	if err != nil {
		return nil, false, a.err(fmt.Sprintf("opening a pull request from %s to %s in %s", o.SourceBranch, o.TargetBranch, a.repo), capture, err)
	}
	return a.convert(pr), true, nil
}

// GetPR implements Provider.
func (a *azureProvider) GetPR(ctx context.Context, number int64) (*PullRequest, error) {
	pr, err := a.get(ctx, number)
	if err != nil {
		return nil, err
	}
	return a.convert(pr), nil
}

func (a *azureProvider) get(ctx context.Context, number int64) (*adogit.GitPullRequest, error) {
	c, capture := a.client()
	pr, err := c.GetPullRequest(ctx, adogit.GetPullRequestArgs{
		Project: &a.repo.project, RepositoryId: &a.repo.name, PullRequestId: ptr.To(int(number)),
	})
	if err != nil {
		return nil, a.err(fmt.Sprintf("reading pull request %d of %s", number, a.repo), capture, err)
	}
	return pr, nil
}

// MergePR implements Provider. It completes the pull request at the source commit
// it checked, so a push in between makes Azure refuse rather than merge unseen work.
func (a *azureProvider) MergePR(ctx context.Context, number int64, o MergeOptions) (*PullRequest, error) {
	var opts *adogit.GitPullRequestCompletionOptions
	if o.Method != "" {
		if !slices.Contains(azureMergeStrategies, o.Method) {
			return nil, fmt.Errorf("mergeMethod %q: Azure DevOps completes pull requests with %s", o.Method, strings.Join(azureMergeStrategies, ", "))
		}
		opts = &adogit.GitPullRequestCompletionOptions{MergeStrategy: ptr.To(adogit.GitPullRequestMergeStrategy(o.Method))}
	}
	what := fmt.Sprintf("pull request %d of %s", number, a.repo)
	raw, err := a.get(ctx, number)
	if err != nil {
		return nil, err
	}
	pr := a.convert(raw)
	if done, err := settled(pr, what); done {
		return pr, err
	}
	// Azure checks the merge in the background after every push; a pull request
	// opened a moment ago is given time before "not checked yet" is believed.
	for i := 0; azurePending(raw) && i < a.settleTries; i++ {
		if err := a.sleep(ctx, what); err != nil {
			return pr, err
		}
		if raw, err = a.get(ctx, number); err != nil {
			return nil, err
		}
		pr = a.convert(raw)
	}
	if !pr.Mergeable {
		return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
	}
	if raw.LastMergeSourceCommit == nil || ptr.Deref(raw.LastMergeSourceCommit.CommitId, "") == "" {
		return pr, fmt.Errorf("completing %s: Azure DevOps reports no source commit to complete it at", what)
	}
	c, capture := a.client()
	_, err = c.UpdatePullRequest(ctx, adogit.UpdatePullRequestArgs{
		Project: &a.repo.project, RepositoryId: &a.repo.name, PullRequestId: ptr.To(int(number)),
		GitPullRequestToUpdate: &adogit.GitPullRequest{
			Status:                ptr.To(adogit.PullRequestStatusValues.Completed),
			LastMergeSourceCommit: &adogit.GitCommitRef{CommitId: raw.LastMergeSourceCommit.CommitId},
			CompletionOptions:     opts,
		},
	})
	if err != nil {
		if reason, ok := azureRefusal(capture, err); ok {
			return pr, &NotMergeableError{Number: number, Reason: "Azure DevOps: " + scrub(errors.New(reason), a.token).Error()}
		}
		return pr, a.err("completing "+what, capture, err)
	}
	// The completion is asynchronous: Azure answers while it still merges.
	for i := 0; ; i++ {
		if raw, err = a.get(ctx, number); err != nil {
			return nil, err
		}
		pr = a.convert(raw)
		switch {
		case pr.State == StateMerged:
			return pr, nil
		case pr.State == StateClosed:
			return pr, fmt.Errorf("merging %s: %w", what, ErrClosed)
		case !pr.Mergeable && !azurePending(raw):
			return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
		case i+1 >= a.settleTries:
			// Not an error of the pull request: asking again later finds it
			// completed, or says why not.
			return pr, fmt.Errorf("completing %s: Azure DevOps is still merging it", what)
		}
		if err := a.sleep(ctx, what); err != nil {
			return pr, err
		}
	}
}

func (a *azureProvider) sleep(ctx context.Context, what string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("merging %s: %w", what, ctx.Err())
	case <-time.After(a.settleEvery):
		return nil
	}
}

// azurePending reports whether Azure has not finished checking the merge yet.
func azurePending(pr *adogit.GitPullRequest) bool {
	if ptr.Deref(pr.Status, "") != adogit.PullRequestStatusValues.Active {
		return false
	}
	s := ptr.Deref(pr.MergeStatus, adogit.PullRequestAsyncStatusValues.NotSet)
	return s == adogit.PullRequestAsyncStatusValues.NotSet || s == adogit.PullRequestAsyncStatusValues.Queued
}

func (a *azureProvider) convert(pr *adogit.GitPullRequest) *PullRequest {
	id := int64(ptr.Deref(pr.PullRequestId, 0))
	out := &PullRequest{
		Number:       id,
		SourceBranch: strings.TrimPrefix(ptr.Deref(pr.SourceRefName, ""), "refs/heads/"),
		TargetBranch: strings.TrimPrefix(ptr.Deref(pr.TargetRefName, ""), "refs/heads/"),
		Mergeable:    true,
	}
	web := ""
	if pr.Repository != nil {
		web = ptr.Deref(pr.Repository.WebUrl, "")
	}
	if web == "" {
		web = a.repo.orgURL + "/" + url.PathEscape(a.repo.project) + "/_git/" + url.PathEscape(a.repo.name)
	}
	out.URL = fmt.Sprintf("%s/pullrequest/%d", strings.TrimSuffix(web, "/"), id)
	if pr.LastMergeSourceCommit != nil {
		out.HeadSHA = ptr.Deref(pr.LastMergeSourceCommit.CommitId, "")
	}
	switch ptr.Deref(pr.Status, "") {
	case adogit.PullRequestStatusValues.Completed:
		out.State = StateMerged
		if pr.LastMergeCommit != nil {
			out.MergeCommitSHA = ptr.Deref(pr.LastMergeCommit.CommitId, "")
		}
		out.MergedBy = azureLogin(pr.ClosedBy)
	case adogit.PullRequestStatusValues.Abandoned:
		out.State = StateClosed
		out.ClosedBy = azureLogin(pr.ClosedBy)
	default:
		out.State = StateOpen
	}
	if out.State != StateOpen {
		return out
	}
	detail := ""
	if m := ptr.Deref(pr.MergeFailureMessage, ""); m != "" {
		detail = ": " + m
	}
	switch s := ptr.Deref(pr.MergeStatus, adogit.PullRequestAsyncStatusValues.NotSet); {
	case ptr.Deref(pr.IsDraft, false):
		// A draft's merge status can be succeeded; it still cannot be completed.
		out.Mergeable, out.MergeableReason = false, "Azure DevOps: the pull request is a draft"
	case s == adogit.PullRequestAsyncStatusValues.Succeeded:
	case s == adogit.PullRequestAsyncStatusValues.Conflicts:
		out.Mergeable, out.MergeableReason = false, "Azure DevOps: the source branch conflicts with the target branch"+detail
	case s == adogit.PullRequestAsyncStatusValues.RejectedByPolicy:
		out.Mergeable, out.MergeableReason = false, "Azure DevOps: a branch policy rejected the merge"+detail
	case s == adogit.PullRequestAsyncStatusValues.Failure:
		out.Mergeable, out.MergeableReason = false, "Azure DevOps: the merge failed"+detail
	default:
		out.Mergeable, out.MergeableReason = false, fmt.Sprintf("Azure DevOps has not finished checking the merge (mergeStatus %s)", s)
	}
	return out
}

// azureLogin is who an identity is in Azure's words: its unique name (an e-mail or
// DOMAIN\user), else its display name.
func azureLogin(id *webapi.IdentityRef) string {
	if id == nil {
		return ""
	}
	if n := ptr.Deref(id.UniqueName, ""); n != "" {
		return n
	}
	return ptr.Deref(id.DisplayName, "")
}

// azureRefusal tells whether a failed completion is Azure refusing the merge (a
// policy not met, a stale source commit, a conflict) rather than a fault, and gives
// Azure's message. Policy refusals can come as 403, which otherwise means the
// credential lacks permission; Azure's exception type tells them apart.
func azureRefusal(capture *messageCapture, err error) (string, bool) {
	status, msg, typeKey := azureDetail(capture, err)
	switch {
	case status == http.StatusBadRequest, status == http.StatusConflict, status == http.StatusUnprocessableEntity:
		return msg, msg != ""
	case status == http.StatusForbidden && strings.Contains(typeKey, "Policy"):
		return msg, msg != ""
	}
	return "", false
}

// azureDetail is the status, message and exception type of an error from Azure's
// client. The client returns its WrappedError both as a value and as a pointer, and
// loses the status when the body is not JSON; the capture has it then.
func azureDetail(capture *messageCapture, err error) (status int, msg, typeKey string) {
	var we azuredevops.WrappedError
	var wep *azuredevops.WrappedError
	switch {
	case errors.As(err, &we):
	case errors.As(err, &wep) && wep != nil:
		we = *wep
	}
	status = ptr.Deref(we.StatusCode, 0)
	if status == 0 {
		status = capture.lastStatus()
	}
	msg = ptr.Deref(we.Message, "")
	if msg == "" {
		msg = capture.message()
	}
	return status, msg, ptr.Deref(we.TypeKey, "")
}

func (a *azureProvider) err(op string, capture *messageCapture, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if status, msg, _ := azureDetail(capture, err); status >= 400 {
		if strings.HasPrefix(msg, "Request returned status: ") {
			msg = "" // the client's words for an empty body; the status says it
		}
		return statusError(op, status, scrub(errors.New(msg), a.token).Error())
	}
	return fmt.Errorf("%s: %w", op, scrub(err, a.token))
}

package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ktrysmt/go-bitbucket"
)

// bitbucketAPI is Bitbucket Cloud's REST API; bitbucket.org serves only the web.
const bitbucketAPI = "https://api.bitbucket.org/2.0"

// bitbucketTokenUser is the user name Bitbucket gives repository, project and
// workspace access tokens for git; the REST API takes those tokens as bearer tokens.
const bitbucketTokenUser = "x-token-auth"

// bitbucketMergeStrategies are the merge_strategy values Bitbucket Cloud takes (the
// set Kargo accepts).
var bitbucketMergeStrategies = []string{
	"merge_commit", "squash", "fast_forward", "squash_fast_forward", "rebase_fast_forward", "rebase_merge",
}

// bitbucketName is what a workspace ID or repository slug may be. The client puts
// them into paths unescaped, so anything else is refused before a request.
var bitbucketName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// bitbucketProvider talks to Bitbucket Cloud through ktrysmt/go-bitbucket.
type bitbucketProvider struct {
	workspace, slug string
	user, token     string
	hc              *http.Client
}

func newBitbucket(repoURL string, o Options, hc *http.Client) (Provider, error) {
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, fmt.Errorf("repoURL %q is not a URL", redactURL(repoURL))
	}
	if !strings.EqualFold(u.Hostname(), "bitbucket.org") {
		return nil, fmt.Errorf("repoURL %q: %w: the bitbucket provider is for Bitbucket Cloud (bitbucket.org); Bitbucket Data Center is not supported",
			redactURL(repoURL), ErrUnsupported)
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git"), "/"), "/")
	if len(parts) != 2 || !bitbucketName.MatchString(parts[0]) || !bitbucketName.MatchString(parts[1]) {
		return nil, fmt.Errorf("repoURL %q: want https://bitbucket.org/<workspace>/<repository>", redactURL(repoURL))
	}
	return &bitbucketProvider{workspace: parts[0], slug: parts[1], user: o.Username, token: o.Password, hc: hc}, nil
}

func (b *bitbucketProvider) String() string { return b.workspace + "/" + b.slug }

// client is a client for one call. An app password (or an Atlassian API token) goes
// with its user name as basic auth; an access token, whose git user name is
// x-token-auth, or a password with no user name, as a bearer token.
//
// The client builds its requests without their context (its WithContext results
// are dropped), so the context is put on every request by the transport instead.
func (b *bitbucketProvider) client(ctx context.Context) (*bitbucket.Client, error) {
	var c *bitbucket.Client
	var err error
	if b.user == "" || b.user == bitbucketTokenUser {
		c, err = bitbucket.NewOAuthbearerTokenWithBaseUrlStr(b.token, bitbucketAPI)
	} else {
		c, err = bitbucket.NewBasicAuthWithBaseUrlStr(b.user, b.token, bitbucketAPI)
	}
	if err != nil {
		return nil, fmt.Errorf("bitbucket client: %w", scrub(err, b.token))
	}
	hc := *b.hc
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = contextTransport{ctx: ctx, next: next}
	c.HttpClient = &hc
	// One page of the largest size: the list is filtered to one pair of branches,
	// and the client would send the credential to whatever "next" URL a page names.
	c.DisableAutoPaging, c.Pagelen = true, 50
	return c, nil
}

// contextTransport sends every request with ctx.
type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t contextTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

// bbPullRequest is the part of Bitbucket's pullrequest object Haul reads.
type bbPullRequest struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	State       string     `json:"state"`
	Draft       bool       `json:"draft"`
	Source      bbEndpoint `json:"source"`
	Destination bbEndpoint `json:"destination"`
	MergeCommit *struct {
		Hash string `json:"hash"`
	} `json:"merge_commit"`
	ClosedBy *bbAccount `json:"closed_by"`
	Links    struct {
		HTML struct {
			Href string `json:"href"`
		} `json:"html"`
	} `json:"links"`
}

type bbEndpoint struct {
	Branch struct {
		Name string `json:"name"`
	} `json:"branch"`
	Commit *struct {
		Hash string `json:"hash"`
	} `json:"commit"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

type bbAccount struct {
	Nickname    string `json:"nickname"`
	DisplayName string `json:"display_name"`
}

// decode turns the client's untyped answer into v.
func decode(res any, v any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// bbQuote quotes s for a Bitbucket query (BBQL) string literal.
func bbQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// OpenPR implements Provider. Bitbucket Cloud has no pull request labels; Labels
// are not sent.
func (b *bitbucketProvider) OpenPR(ctx context.Context, o OpenOptions) (*PullRequest, bool, error) {
	c, err := b.client(ctx)
	if err != nil {
		return nil, false, err
	}
	res, err := c.Repositories.PullRequests.List(&bitbucket.PullRequestsOptions{
		Owner: b.workspace, RepoSlug: b.slug, States: []string{"OPEN"},
		Query: "source.branch.name = " + bbQuote(o.SourceBranch) + " AND destination.branch.name = " + bbQuote(o.TargetBranch),
	})
	if err != nil {
		return nil, false, b.err(fmt.Sprintf("listing pull requests of %s", b), err)
	}
	var page struct {
		Values []bbPullRequest `json:"values"`
	}
	if err := decode(res, &page); err != nil {
		return nil, false, fmt.Errorf("listing pull requests of %s: reading Bitbucket's answer: %w", b, err)
	}
	for i := range page.Values {
		pr := &page.Values[i]
		if pr.State == "OPEN" && pr.Source.Branch.Name == o.SourceBranch && pr.Destination.Branch.Name == o.TargetBranch &&
			(pr.Source.Repository == nil || strings.EqualFold(pr.Source.Repository.FullName, b.String())) {
			return b.convert(pr), false, nil
		}
	}
	res, err = c.Repositories.PullRequests.Create(&bitbucket.PullRequestsOptions{
		Owner: b.workspace, RepoSlug: b.slug, Title: o.Title, Description: o.Description,
		SourceBranch: o.SourceBranch, DestinationBranch: o.TargetBranch,
	})
	if err != nil {
		return nil, false, b.err(fmt.Sprintf("opening a pull request from %s to %s in %s", o.SourceBranch, o.TargetBranch, b), err)
	}
	var pr bbPullRequest
	if err := decode(res, &pr); err != nil || pr.ID == 0 {
		return nil, false, fmt.Errorf("opening a pull request in %s: Bitbucket's answer has no pull request id", b)
	}
	return b.convert(&pr), true, nil
}

// GetPR implements Provider.
func (b *bitbucketProvider) GetPR(ctx context.Context, number int64) (*PullRequest, error) {
	c, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, _, err := b.get(c, number)
	return pr, err
}

// get reads pull request number, as Haul sees it and as Bitbucket sent it.
func (b *bitbucketProvider) get(c *bitbucket.Client, number int64) (*PullRequest, *bbPullRequest, error) {
	res, err := c.Repositories.PullRequests.Get(&bitbucket.PullRequestsOptions{
		Owner: b.workspace, RepoSlug: b.slug, ID: strconv.FormatInt(number, 10),
	})
	if err != nil {
		return nil, nil, b.err(fmt.Sprintf("reading pull request %d of %s", number, b), err)
	}
	var raw bbPullRequest
	if err := decode(res, &raw); err != nil {
		return nil, nil, fmt.Errorf("reading pull request %d of %s: %w", number, b, err)
	}
	pr := b.convert(&raw)
	if err := b.fullMergeCommit(c, pr); err != nil {
		return nil, nil, err
	}
	return pr, &raw, nil
}

// fullMergeCommit replaces the abbreviated merge commit hash Bitbucket puts on a
// pull request with the full one, which later steps (argocd-update) compare.
func (b *bitbucketProvider) fullMergeCommit(c *bitbucket.Client, pr *PullRequest) error {
	if pr.MergeCommitSHA == "" || len(pr.MergeCommitSHA) == 40 {
		return nil
	}
	res, err := c.Repositories.Commits.GetCommit(&bitbucket.CommitsOptions{Owner: b.workspace, RepoSlug: b.slug, Revision: pr.MergeCommitSHA})
	if err != nil {
		return b.err(fmt.Sprintf("reading merge commit %s of pull request %d", pr.MergeCommitSHA, pr.Number), err)
	}
	var commit struct {
		Hash string `json:"hash"`
	}
	if err := decode(res, &commit); err != nil || commit.Hash == "" {
		return fmt.Errorf("reading merge commit %s of pull request %d: Bitbucket's answer has no hash", pr.MergeCommitSHA, pr.Number)
	}
	pr.MergeCommitSHA = commit.Hash
	return nil
}

// MergePR implements Provider. Bitbucket says nothing about mergeability before a
// merge is tried (no conflict or merge-check state on the pull request), so its
// refusal of the merge is the reason given.
func (b *bitbucketProvider) MergePR(ctx context.Context, number int64, o MergeOptions) (*PullRequest, error) {
	if o.Method != "" && !slices.Contains(bitbucketMergeStrategies, o.Method) {
		return nil, fmt.Errorf("mergeMethod %q: Bitbucket merges with %s", o.Method, strings.Join(bitbucketMergeStrategies, ", "))
	}
	c, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("pull request %d of %s", number, b)
	pr, raw, err := b.get(c, number)
	if err != nil {
		return nil, err
	}
	if done, err := settled(pr, what); done {
		return pr, err
	}
	if !pr.Mergeable {
		return pr, &NotMergeableError{Number: number, Reason: pr.MergeableReason}
	}
	// The client sends a message on every merge, empty unless set; this is
	// Bitbucket's own default, so the commit reads as a merge from its web UI.
	_, err = c.Repositories.PullRequests.Merge(&bitbucket.PullRequestsOptions{
		Owner: b.workspace, RepoSlug: b.slug, ID: strconv.FormatInt(number, 10),
		MergeStrategy: bitbucket.PullRequestsMergeStrategy(o.Method),
		Message:       fmt.Sprintf("Merged in %s (pull request #%d)\n\n%s", pr.SourceBranch, number, raw.Title),
	})
	var se *bitbucket.UnexpectedResponseStatusError
	switch {
	case errors.As(err, &se) && (se.StatusCode == http.StatusBadRequest || se.StatusCode == http.StatusMethodNotAllowed ||
		se.StatusCode == http.StatusConflict || se.StatusCode == http.StatusUnprocessableEntity):
		return pr, &NotMergeableError{Number: number, Reason: "Bitbucket: " + scrub(errors.New(bbMessage(se.Body)), b.token).Error()}
	case errors.As(err, &se):
		return pr, b.err("merging "+what, err)
	}
	// A merge answered 202 (Bitbucket merging in the background) has no pull
	// request in its body, and the client reports that as a decoding error; either
	// way the pull request itself says whether it is merged.
	merged, _, gerr := b.get(c, number)
	switch {
	case gerr != nil:
		return pr, gerr
	case merged.State == StateMerged:
		return merged, nil
	case merged.State == StateClosed:
		return merged, fmt.Errorf("merging %s: %w", what, ErrClosed)
	case err != nil:
		return merged, fmt.Errorf("merging %s: %w", what, scrub(err, b.token))
	}
	return merged, fmt.Errorf("merging %s: Bitbucket accepted the merge and is still merging it", what)
}

func (b *bitbucketProvider) convert(pr *bbPullRequest) *PullRequest {
	out := &PullRequest{
		Number:       pr.ID,
		URL:          pr.Links.HTML.Href,
		SourceBranch: pr.Source.Branch.Name,
		TargetBranch: pr.Destination.Branch.Name,
		Mergeable:    true,
	}
	if out.URL == "" {
		out.URL = fmt.Sprintf("https://bitbucket.org/%s/%s/pull-requests/%d", b.workspace, b.slug, pr.ID)
	}
	if pr.Source.Commit != nil {
		out.HeadSHA = pr.Source.Commit.Hash
	}
	who := ""
	if pr.ClosedBy != nil {
		who = pr.ClosedBy.Nickname
		if who == "" {
			who = pr.ClosedBy.DisplayName
		}
	}
	switch pr.State {
	case "MERGED":
		out.State, out.MergedBy = StateMerged, who
		if pr.MergeCommit != nil {
			out.MergeCommitSHA = pr.MergeCommit.Hash
		}
	case "DECLINED", "SUPERSEDED":
		out.State, out.ClosedBy = StateClosed, who
	default:
		out.State = StateOpen
		if pr.Draft {
			out.Mergeable, out.MergeableReason = false, "Bitbucket: the pull request is a draft"
		}
	}
	return out
}

// bbMessage is the message of a Bitbucket error body
// ({"type": "error", "error": {"message": ..., "detail": ...}}), or the body itself
// when it is short text.
func bbMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		if e.Error.Detail != "" && e.Error.Detail != e.Error.Message {
			return e.Error.Message + ": " + e.Error.Detail
		}
		return e.Error.Message
	}
	if s := strings.TrimSpace(string(body)); len(s) <= 200 && !strings.HasPrefix(s, "<") {
		return s
	}
	return ""
}

func (b *bitbucketProvider) err(op string, err error) error {
	var se *bitbucket.UnexpectedResponseStatusError
	if errors.As(err, &se) {
		return statusError(op, se.StatusCode, scrub(errors.New(bbMessage(se.Body)), b.token).Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, scrub(err, b.token))
}

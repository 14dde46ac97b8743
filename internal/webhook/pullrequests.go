package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// prEvent is a pull (merge) request event: which pull request (its web URL; Azure
// DevOps may give it in two spellings), and whether it was merged or closed (the
// only actions that can end a wait).
type prEvent struct {
	urls  []string
	ended bool
}

// isPullRequestEvent says whether the request carries a pull request event rather
// than a push. Azure DevOps says so only in the body.
func isPullRequestEvent(provider string, r *http.Request, body []byte) bool {
	switch provider {
	case GitHub:
		return r.Header.Get("X-GitHub-Event") == "pull_request"
	case Gitea:
		return r.Header.Get("X-Gitea-Event") == "pull_request"
	case GitLab:
		return r.Header.Get("X-Gitlab-Event") == "Merge Request Hook"
	case Bitbucket:
		return strings.HasPrefix(r.Header.Get("X-Event-Key"), "pullrequest:")
	case Azure:
		var p struct {
			EventType string `json:"eventType"`
		}
		return json.Unmarshal(body, &p) == nil && strings.HasPrefix(p.EventType, "git.pullrequest.")
	}
	return false
}

// pullRequestEvent parses a pull request event's payload. GitHub and Gitea say
// "closed" for both merged and closed pull requests; GitLab says "merge" or "close";
// Bitbucket Cloud's event key is pullrequest:fulfilled (merged) or
// pullrequest:rejected (declined); Azure DevOps' resource.status becomes
// "completed" or "abandoned" (in git.pullrequest.merged and .updated events).
func pullRequestEvent(provider string, r *http.Request, body []byte) (prEvent, error) {
	var ev prEvent
	switch provider {
	case GitHub, Gitea:
		var p struct {
			Action      string `json:"action"`
			PullRequest *struct {
				HTMLURL string `json:"html_url"`
			} `json:"pull_request"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return ev, fmt.Errorf("parsing %s pull_request payload: %w", provider, err)
		}
		if p.PullRequest == nil || p.PullRequest.HTMLURL == "" {
			return ev, fmt.Errorf("%s pull_request payload has no pull_request.html_url", provider)
		}
		ev.urls, ev.ended = []string{p.PullRequest.HTMLURL}, p.Action == "closed"
	case GitLab:
		var p struct {
			ObjectAttributes *struct {
				Action string `json:"action"`
				URL    string `json:"url"`
			} `json:"object_attributes"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return ev, fmt.Errorf("parsing gitlab merge request payload: %w", err)
		}
		if p.ObjectAttributes == nil || p.ObjectAttributes.URL == "" {
			return ev, fmt.Errorf("gitlab merge request payload has no object_attributes.url")
		}
		a := p.ObjectAttributes.Action
		ev.urls, ev.ended = []string{p.ObjectAttributes.URL}, a == "merge" || a == "close"
	case Bitbucket:
		var p struct {
			PullRequest *struct {
				Links struct {
					HTML struct {
						Href string `json:"href"`
					} `json:"html"`
				} `json:"links"`
			} `json:"pullrequest"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return ev, fmt.Errorf("parsing bitbucket pull request payload: %w", err)
		}
		if p.PullRequest == nil || p.PullRequest.Links.HTML.Href == "" {
			return ev, fmt.Errorf("bitbucket pull request payload has no pullrequest.links.html.href")
		}
		key := r.Header.Get("X-Event-Key")
		ev.urls, ev.ended = []string{p.PullRequest.Links.HTML.Href}, key == "pullrequest:fulfilled" || key == "pullrequest:rejected"
	case Azure:
		return azurePullRequestEvent(body)
	default:
		return ev, fmt.Errorf("provider %q sends no pull request events", provider)
	}
	return ev, checkPRURLs(provider, ev)
}

// azurePullRequestEvent reads an Azure DevOps git.pullrequest.* service hook. Its
// resource carries no web link to the pull request, so the link is built as Azure
// builds it: the repository's web URL (or clone URL without a user name) followed by
// /pullrequest/<id>.
func azurePullRequestEvent(body []byte) (prEvent, error) {
	var ev prEvent
	var p struct {
		Resource *struct {
			PullRequestID int64  `json:"pullRequestId"`
			Status        string `json:"status"`
			Repository    *struct {
				WebURL    string `json:"webUrl"`
				RemoteURL string `json:"remoteUrl"`
			} `json:"repository"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return ev, fmt.Errorf("parsing azure pull request payload: %w", err)
	}
	if p.Resource == nil || p.Resource.PullRequestID <= 0 || p.Resource.Repository == nil {
		return ev, fmt.Errorf("azure pull request payload has no resource.pullRequestId and resource.repository")
	}
	for _, repo := range []string{p.Resource.Repository.WebURL, p.Resource.Repository.RemoteURL} {
		u, err := url.Parse(repo)
		if repo == "" || err != nil {
			continue
		}
		u.User = nil
		ev.urls = append(ev.urls, fmt.Sprintf("%s/pullrequest/%d", strings.TrimSuffix(u.String(), "/"), p.Resource.PullRequestID))
	}
	if len(ev.urls) == 0 {
		return ev, fmt.Errorf("azure pull request payload has no resource.repository.webUrl or remoteUrl")
	}
	ev.ended = p.Resource.Status == "completed" || p.Resource.Status == "abandoned"
	return ev, checkPRURLs(Azure, ev)
}

// checkPRURLs refuses pull request links that are not http(s) URLs with a host.
func checkPRURLs(provider string, ev prEvent) error {
	for _, s := range ev.urls {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s payload: pull request URL %q is not an http(s) URL", provider, truncate(s, 200))
		}
	}
	return nil
}

// samePR compares pull request web URLs case-insensitively (GitHub, GitLab and Gitea
// treat owner and repository names so), a trailing slash ignored.
func samePR(a, b string) bool {
	ua, erra := url.Parse(strings.TrimSuffix(a, "/"))
	ub, errb := url.Parse(strings.TrimSuffix(b, "/"))
	if erra != nil || errb != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) && strings.EqualFold(ua.Path, ub.Path)
}

// wakePromotions sets a new haul.dev/refresh value on every Running Promotion of the
// project whose current step waits on the pull request at one of prURLs, so the Promotion
// controller runs that step again now instead of at its next poll. It returns their
// names.
func (h *Handler) wakePromotions(ctx context.Context, project string, prURLs []string) ([]string, error) {
	var list haulv1.PromotionList
	if err := h.c.List(ctx, &list, scope(project)...); err != nil {
		return nil, err
	}
	value := h.now().UTC().Format(time.RFC3339Nano)
	var woken []string
	for i := range list.Items {
		p := &list.Items[i]
		pr := p.Status.WaitingPullRequest()
		if pr == nil || !slices.ContainsFunc(prURLs, func(u string) bool { return samePR(pr.URL, u) }) {
			continue
		}
		patch := client.RawPatch("application/merge-patch+json",
			[]byte(`{"metadata":{"annotations":{"`+haulv1.AnnotationRefresh+`":"`+value+`"}}}`))
		if err := h.c.Patch(ctx, p, patch); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return woken, err
		}
		woken = append(woken, displayName(project, p))
	}
	return woken, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

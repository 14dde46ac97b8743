package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// prEvent is a pull (merge) request event: which pull request, and whether it was
// merged or closed (the only actions that can end a wait).
type prEvent struct {
	url   string
	ended bool
}

// isPullRequestEvent says whether the request carries a pull request event rather
// than a push.
func isPullRequestEvent(provider string, r *http.Request) bool {
	switch provider {
	case GitHub:
		return r.Header.Get("X-GitHub-Event") == "pull_request"
	case Gitea:
		return r.Header.Get("X-Gitea-Event") == "pull_request"
	case GitLab:
		return r.Header.Get("X-Gitlab-Event") == "Merge Request Hook"
	}
	return false
}

// pullRequestEvent parses a pull request event's payload. GitHub and Gitea say
// "closed" for both merged and closed pull requests; GitLab says "merge" or "close".
func pullRequestEvent(provider string, body []byte) (prEvent, error) {
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
		ev.url, ev.ended = p.PullRequest.HTMLURL, p.Action == "closed"
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
		ev.url, ev.ended = p.ObjectAttributes.URL, a == "merge" || a == "close"
	default:
		return ev, fmt.Errorf("provider %q sends no pull request events", provider)
	}
	if u, err := url.Parse(ev.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ev, fmt.Errorf("%s payload: pull request URL %q is not an http(s) URL", provider, truncate(ev.url, 200))
	}
	return ev, nil
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
// project whose current step waits on the pull request at prURL, so the Promotion
// controller runs that step again now instead of at its next poll. It returns their
// names.
func (h *Handler) wakePromotions(ctx context.Context, project, prURL string) ([]string, error) {
	var list haulv1.PromotionList
	if err := h.c.List(ctx, &list, client.InNamespace(project)); err != nil {
		return nil, err
	}
	value := h.now().UTC().Format(time.RFC3339Nano)
	var woken []string
	for i := range list.Items {
		p := &list.Items[i]
		pr := p.Status.WaitingPullRequest()
		if pr == nil || !samePR(pr.URL, prURL) {
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
		woken = append(woken, p.Name)
	}
	return woken, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/server/auth"
)

// accessTTL is how long an access review answer is reused. Short, so that a revoked
// RoleBinding takes effect within seconds, and long enough that a page load of many
// requests costs one review per question.
const accessTTL = 5 * time.Second

// maxCachedClients bounds the impersonating clients kept; the map is reset when full.
const maxCachedClients = 1024

// access answers "may this user do that" with SubjectAccessReviews and hands out
// clients that impersonate the user, so the API server enforces RBAC on every write.
type access struct {
	base   *rest.Config
	opts   client.Options
	server client.Client

	mu      sync.Mutex
	clients map[string]client.Client
	reviews map[string]reviewEntry
}

type reviewEntry struct {
	allowed bool
	exp     time.Time
}

func newAccess(cfg *rest.Config, opts client.Options, server client.Client) *access {
	return &access{base: cfg, opts: opts, server: server, clients: map[string]client.Client{}, reviews: map[string]reviewEntry{}}
}

func userKey(u *auth.User) string {
	g := append([]string(nil), u.Groups...)
	sort.Strings(g)
	return u.Name + "\x00" + strings.Join(g, "\x00")
}

// clientFor returns a client acting as u: the server's own client for the local admin,
// an impersonating one for everybody else.
func (a *access) clientFor(u *auth.User) (client.Client, error) {
	if u.Admin {
		return a.server, nil
	}
	k := userKey(u)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[k]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(a.base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.Name, Groups: u.Groups}
	c, err := client.New(cfg, a.opts)
	if err != nil {
		return nil, fmt.Errorf("creating client for user %q: %w", u.Name, err)
	}
	if len(a.clients) >= maxCachedClients {
		a.clients = map[string]client.Client{}
	}
	a.clients[k] = c
	return c, nil
}

// can asks the API server whether u may perform verb on a haul.dev resource.
func (a *access) can(ctx context.Context, u *auth.User, verb, resource, subresource, ns, name string) (bool, error) {
	if u.Admin {
		return true, nil
	}
	k := strings.Join([]string{userKey(u), verb, resource, subresource, ns, name}, "\x01")
	now := time.Now()
	a.mu.Lock()
	if e, ok := a.reviews[k]; ok && now.Before(e.exp) {
		a.mu.Unlock()
		return e.allowed, nil
	}
	a.mu.Unlock()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   u.Name,
		Groups: u.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: haulv1.GroupVersion.Group,
			Resource: resource, Subresource: subresource, Name: name,
		},
	}}
	if err := a.server.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("reviewing access of %q to %s %s in %q: %w", u.Name, verb, resource, ns, err)
	}
	a.mu.Lock()
	if len(a.reviews) > 50000 {
		a.reviews = map[string]reviewEntry{}
	}
	a.reviews[k] = reviewEntry{allowed: sar.Status.Allowed, exp: now.Add(accessTTL)}
	a.mu.Unlock()
	return sar.Status.Allowed, nil
}

// visible says whether u belongs to project p: whether u may get its stages.
func (a *access) visible(ctx context.Context, u *auth.User, p string) (bool, error) {
	return a.can(ctx, u, "get", "stages", "", p, "")
}

// denied builds the answer to a refused request: 403 for a member of the project who
// lacks this right, and for anybody else the same 404 a missing object gets.
func (a *access) denied(ctx context.Context, u *auth.User, p, kind, name, what string) *apiError {
	ok, err := a.visible(ctx, u, p)
	if err != nil {
		return fromKube(err)
	}
	if !ok {
		return notFound(kind, name, p)
	}
	return errorf(http.StatusForbidden, reasonForbidden, "user %q may not %s in project %q", u.Name, what, p)
}

// check runs one access review and turns a refusal into denied's answer.
func (a *access) check(ctx context.Context, u *auth.User, verb, resource, sub, p, name, kind, objName, what string) error {
	ok, err := a.can(ctx, u, verb, resource, sub, p, name)
	if err != nil {
		return fromKube(err)
	}
	if !ok {
		return a.denied(ctx, u, p, kind, objName, what)
	}
	return nil
}

// kubeErr maps an error from a request made as u: Forbidden becomes denied's answer
// and NotFound the uniform not-found body.
func (a *access) kubeErr(ctx context.Context, u *auth.User, err error, p, kind, name, what string) error {
	switch {
	case apierrors.IsForbidden(err):
		return a.denied(ctx, u, p, kind, name, what)
	case apierrors.IsNotFound(err):
		return notFound(kind, name, p)
	}
	return fromKube(err)
}

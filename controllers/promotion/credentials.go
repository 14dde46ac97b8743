package promotion

import (
	"context"

	"github.com/haul-dev/haul/pkg/credentials"
)

// credentials finds git (or other) credentials for repoURL in the project namespace of
// the running Promotion, then in the shared namespace, with the same matching rules as
// discovery (exact beats regex).
func (r *Reconciler) credentials(ctx context.Context, credType, repoURL string) (string, string, bool, error) {
	ns := projectFromContext(ctx)
	if ns == "" {
		return "", "", false, nil
	}
	store := r.Credentials
	if store == nil {
		store = &credentials.Store{Reader: r.APIReader}
	}
	c, err := store.Lookup(ctx, ns, credType, repoURL)
	if err != nil || c == nil {
		return "", "", false, err
	}
	return c.Username, c.Password, true, nil
}

type projectKey struct{}

// withProject lets the credentials function know the project of the running Promotion.
func withProject(ctx context.Context, ns string) context.Context {
	return context.WithValue(ctx, projectKey{}, ns)
}

func projectFromContext(ctx context.Context) string {
	s, _ := ctx.Value(projectKey{}).(string)
	return s
}

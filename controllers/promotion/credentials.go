package promotion

import (
	"context"
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// credentials finds a Secret labelled haul.dev/cred-type=<credType> in the project
// namespace whose repoURL matches; exact matches win over regex matches.
func (r *Reconciler) credentials(ctx context.Context, credType, repoURL string) (string, string, bool, error) {
	ns := projectFromContext(ctx)
	if ns == "" {
		return "", "", false, nil
	}
	var list corev1.SecretList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelCredType: credType}); err != nil {
		return "", "", false, fmt.Errorf("listing credentials: %w", err)
	}
	var regexMatch *corev1.Secret
	for i := range list.Items {
		s := &list.Items[i]
		u := string(s.Data["repoURL"])
		if string(s.Data["repoURLIsRegex"]) == "true" {
			if re, err := regexp.Compile(u); err == nil && re.MatchString(repoURL) && regexMatch == nil {
				regexMatch = s
			}
			continue
		}
		if u == repoURL {
			return string(s.Data["username"]), string(s.Data["password"]), true, nil
		}
	}
	if regexMatch != nil {
		return string(regexMatch.Data["username"]), string(regexMatch.Data["password"]), true, nil
	}
	return "", "", false, nil
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

package auth

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KubeTokenReviewer checks bearer tokens with the Kubernetes TokenReview API, so that
// ServiceAccount tokens and whatever the API server itself accepts work here too.
type KubeTokenReviewer struct {
	Client client.Client
}

// Review implements TokenReviewer.
func (k KubeTokenReviewer) Review(ctx context.Context, token string) (*User, error) {
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
	if err := k.Client.Create(ctx, tr); err != nil {
		return nil, fmt.Errorf("%w: reviewing token: %s", ErrUnauthenticated, err.Error())
	}
	if !tr.Status.Authenticated || tr.Status.User.Username == "" {
		return nil, fmt.Errorf("%w: token not accepted by the Kubernetes API server", ErrUnauthenticated)
	}
	return &User{Name: tr.Status.User.Username, Groups: tr.Status.User.Groups}, nil
}

package auth

import "context"

// AdminUsername is the user name the local admin token maps to.
const AdminUsername = "haul-admin"

// User is an authenticated caller.
type User struct {
	// Name is the Kubernetes user name used for impersonation and access reviews.
	Name string `json:"username"`
	// Groups are the caller's groups.
	Groups []string `json:"groups"`
	// Admin is true only for the local admin token: the caller acts with the server's
	// own rights instead of being impersonated.
	Admin bool `json:"-"`
}

type userKey struct{}

// WithUser returns a context carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user stored by WithUser, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

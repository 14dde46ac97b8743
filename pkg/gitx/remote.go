package gitx

import (
	"context"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ListOptions tune ListRemote.
type ListOptions struct {
	// InsecureSkipTLSVerify turns off certificate checks for a remote that asks for it.
	InsecureSkipTLSVerify bool
	// Peeled adds the peeled commit of each annotated tag as "<tag>^{}".
	Peeled bool
}

// ListRemote asks a remote for its refs in process (go-git: no git process, which
// saves ≈ 40 ms a call), after checking url with the default RemotePolicy. It is the
// one place discovery and the promotion cache turn Auth into go-git credentials.
func ListRemote(ctx context.Context, url string, auth *Auth, opts ListOptions) ([]*plumbing.Reference, error) {
	if err := CheckURL("repoURL", url); err != nil {
		return nil, err
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	lo := &git.ListOptions{InsecureSkipTLS: opts.InsecureSkipTLSVerify || auth.insecure(), Auth: goGitAuth(auth)}
	if opts.Peeled {
		lo.PeelingOption = git.AppendPeeled
	}
	refs, err := remote.ListContext(ctx, lo)
	if err != nil {
		return nil, RedactError(err)
	}
	return refs, nil
}

// goGitAuth is Auth as go-git's HTTP basic credentials (nil when empty).
func goGitAuth(auth *Auth) transport.AuthMethod {
	if auth.empty() {
		return nil
	}
	return &http.BasicAuth{Username: auth.Username, Password: auth.Password}
}

package promotion

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
)

// clusterGitMemo keeps one run's answer of ClusterGitIdentity: the ClusterConfig is
// read at most once per run, and every run reads it afresh, so an edited gitClient
// applies from the next Promotion pass on.
type clusterGitMemo struct {
	once sync.Once
	id   *gitx.Identity
	err  error
}

// ClusterGitIdentity is the ClusterConfig's spec.gitClient: the identity of commits
// whose steps name no author (git-clone, git-commit). It is nil when the services
// cannot reach the cluster, there is no ClusterConfig, or it sets no gitClient.
func (s *Services) ClusterGitIdentity(ctx context.Context) (*gitx.Identity, error) {
	if s == nil || (s.Dynamic == nil && s.ClusterConfig == nil) {
		return nil, nil
	}
	if s.clusterGit == nil {
		return readClusterGitIdentity(ctx, s)
	}
	s.clusterGit.once.Do(func() { s.clusterGit.id, s.clusterGit.err = readClusterGitIdentity(ctx, s) })
	return s.clusterGit.id, s.clusterGit.err
}

func readClusterGitIdentity(ctx context.Context, s *Services) (*gitx.Identity, error) {
	name, email, err := clusterGitClient(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("reading ClusterConfig %s for its gitClient: %w", haulv1.ClusterConfigName, err)
	}
	if name == "" && email == "" {
		return nil, nil
	}
	if name == "" {
		name = gitx.DefaultIdentity.Name
	}
	if email == "" {
		email = gitx.DefaultIdentity.Email
	}
	return &gitx.Identity{Name: name, Email: email}, nil
}

// clusterGitClient returns the name and email of the ClusterConfig's gitClient ("" when
// there is no ClusterConfig or it sets none), from Services.ClusterConfig when set.
func clusterGitClient(ctx context.Context, s *Services) (name, email string, err error) {
	if s.ClusterConfig != nil {
		cc, err := s.ClusterConfig(ctx)
		if err != nil || cc == nil || cc.Spec.GitClient == nil {
			return "", "", err
		}
		return cc.Spec.GitClient.Name, cc.Spec.GitClient.Email, nil
	}
	u, err := s.Dynamic.Resource(haulv1.GroupVersion.WithResource("clusterconfigs")).Get(ctx, haulv1.ClusterConfigName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	name, _, _ = unstructured.NestedString(u.Object, "spec", "gitClient", "name")
	email, _, _ = unstructured.NestedString(u.Object, "spec", "gitClient", "email")
	return name, email, nil
}

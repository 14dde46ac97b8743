package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// fieldManager is the server-side apply field manager of everything the CLI writes.
const fieldManager = "haul"

// session is a connection to one cluster with the project the user works in.
type session struct {
	g       *GlobalOptions
	config  *rest.Config
	client  client.Client
	project string
	host    string
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = haulv1.AddToScheme(s)
	return s
}

// restConfig loads the kubeconfig like kubectl: --kubeconfig, else $KUBECONFIG (a
// list of files), else ~/.kube/config, with --context choosing the context.
func (g *GlobalOptions) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if g.Kubeconfig != "" {
		rules.ExplicitPath = g.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: g.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no cluster configured: pass --kubeconfig, set KUBECONFIG, or start one with `haul up`")
		}
		if g.Context != "" && (strings.Contains(err.Error(), "context was not found") || strings.Contains(err.Error(), "does not exist")) {
			return nil, fmt.Errorf("context %q not found in kubeconfig", g.Context)
		}
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.UserAgent = "haul-cli"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, nil
}

// connect opens a session. The project comes from -p, else from `haul config set-project`.
func (g *GlobalOptions) connect() (*session, error) {
	cfg, err := g.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return nil, translate(err, op{host: cfg.Host})
	}
	project := g.Project
	if project == "" {
		if conf, err := loadConfig(); err == nil {
			project = conf.Project
		}
	}
	return &session{g: g, config: cfg, client: c, project: project, host: cfg.Host}, nil
}

// requireProject returns the project or an error saying how to choose one.
func (s *session) requireProject() (string, error) {
	if s.project == "" {
		return "", errors.New("no project: pass -p/--project or run `haul config set-project NAME`")
	}
	return s.project, nil
}

// whoAmI asks the API server who the caller is; "unknown" when it cannot tell.
func (s *session) whoAmI(ctx context.Context) string {
	r := &authenticationv1.SelfSubjectReview{}
	if err := s.client.Create(ctx, r); err == nil && r.Status.UserInfo.Username != "" {
		return r.Status.UserInfo.Username
	}
	return "unknown"
}

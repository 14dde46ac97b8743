package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/haul-dev/haul/controllers"
	"github.com/haul-dev/haul/controllers/retention"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/dirlock"
	"github.com/haul-dev/haul/internal/server"
	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/shard"
)

// serverConfig loads the cluster configuration for in-cluster commands: --kubeconfig,
// $KUBECONFIG, ~/.kube/config, then the pod's service account.
// sharedCredsHelp describes --shared-credentials-namespace (haul up and haul controller).
const sharedCredsHelp = "namespace whose credential Secrets every project may use for discovery and promotion steps (expressions read only its Secrets labelled haul.dev/cred-type=generic, through sharedSecret())"

// denyPlainHTTPGitHelp describes --deny-plain-http-git (haul up and haul controller).
const denyPlainHTTPGitHelp = "refuse http:// Git remotes in steps and Warehouse subscriptions (https and ssh only); file:// and local paths are always refused"

// pushIntegrationHelp describes --push-integration-policy (haul up and haul controller).
const pushIntegrationHelp = "how git-push integrates commits pushed to the branch meanwhile (Kargo's policies): AlwaysRebase; RebaseOrMerge (merge when a commit to replay is signed, since Haul does not sign and a rebase would drop the signature); RebaseOrFail (fail the step instead); AlwaysMerge"

// denyPrivateHTTPHelp describes --deny-private-http (haul up and haul controller).
const denyPrivateHTTPHelp = "make http steps (promotion and verification) also refuse private, shared (CGNAT) and loopback addresses; link-local and cloud metadata addresses are always refused"

func serverConfig(g *GlobalOptions) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: g.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading cluster configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

// setServerLogger sets JSON (or human-readable) logs to stderr at the given level.
func setServerLogger(level string, dev bool) error {
	lvl, err := parseLogLevel(level)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(dev), zap.Level(lvl)))
	return nil
}

// parseServiceAccounts turns NAMESPACE:NAME values into RBAC subjects.
func parseServiceAccounts(values []string) ([]rbacv1.Subject, error) {
	var out []rbacv1.Subject
	for _, v := range values {
		ns, name, ok := strings.Cut(v, ":")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--project-access-subject %q: want NAMESPACE:NAME", v)
		}
		out = append(out, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name})
	}
	return out, nil
}

func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// setAPIProtocol makes cfg's clients talk HTTP/1.1 to the API server unless http2 is
// set. Over HTTP/2 every request and watch of the process shares one connection: in a
// fan-out whose Freight status patches and watch events carry an object with a
// thousand entries, requests queued behind each other on it (22 goroutines waiting to
// write in a dump of one shard), and three shards on one API server took 22-27 s
// where one controller took 21 s; over HTTP/1.1 they take 19-20 s.
func setAPIProtocol(cfg *rest.Config, http2 bool) {
	if http2 {
		return
	}
	cfg.NextProtos = []string{"http/1.1"}
}

// reconcilerConfig loads --reconciler-kubeconfig; nil (the control plane's cluster) when
// the flag is empty.
func reconcilerConfig(path string) (*rest.Config, error) {
	if path == "" {
		return nil, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("--reconciler-kubeconfig %s: %w", path, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

// newControllerCommand builds `haul controller`.
func newControllerCommand(g *GlobalOptions) *cobra.Command {
	var (
		leaderElect          bool
		leaderNamespace      string
		lease                app.LeaseTimings
		metricsAddr          string
		probeAddr            string
		pprofAddr            string
		workDir              string
		minWarehouseInterval time.Duration
		installCRDs          bool
		devLogs              bool
		logLevel             string
		accessRole           string
		accessSubjects       []string
		externalURL          string
		sharedCredsNamespace string
		denyPrivateHTTP      bool
		denyPlainHTTPGit     bool
		pushIntegration      string
		retentionDefaults    retention.Defaults
		retentionInterval    time.Duration
		shardName            string
		reconcilerKubeconfig string
		kubeAPIHTTP2         bool
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run Haul's controllers in a cluster (leader election, metrics, probes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := setServerLogger(logLevel, devLogs); err != nil {
				return err
			}
			cfg, err := serverConfig(g)
			if err != nil {
				return err
			}
			setAPIProtocol(cfg, kubeAPIHTTP2)
			subjects, err := parseServiceAccounts(accessSubjects)
			if err != nil {
				return err
			}
			if err := shard.Validate("--shard", shardName); err != nil {
				return err
			}
			reconcilerCfg, err := reconcilerConfig(reconcilerKubeconfig)
			if err != nil {
				return err
			}
			integration, err := gitx.ParseIntegration(pushIntegration)
			if err != nil {
				return fmt.Errorf("--push-integration-policy: %w", err)
			}
			// Git caches and work trees are this process's alone: two controllers (two
			// shards on one host) sharing them would hand one work tree to both.
			unlock, err := dirlock.Lock(workDir, "--work-dir")
			if err != nil {
				return err
			}
			defer unlock()
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return app.Run(ctx, app.Config{
				RestConfig:              cfg,
				Controllers:             true,
				InstallCRDs:             installCRDs,
				LeaderElection:          leaderElect,
				LeaderElectionNamespace: leaderNamespace,
				Lease:                   lease,
				MetricsAddr:             metricsAddr,
				ProbeAddr:               probeAddr,
				PprofAddr:               pprofAddr,
				ShardSelect:             true,
				ControllerOptions: controllers.Options{
					Shard:                      shardName,
					ReconcilerConfig:           reconcilerCfg,
					MinWarehouseInterval:       minWarehouseInterval,
					WorkDir:                    workDir,
					ExternalURL:                externalURL,
					SharedCredentialsNamespace: sharedCredsNamespace,
					ProjectAccessRole:          accessRole,
					ProjectAccessSubjects:      subjects,
					DenyPrivateHTTP:            denyPrivateHTTP,
					DenyPlainHTTPGit:           denyPlainHTTPGit,
					PushIntegration:            integration,
					Retention:                  retentionDefaults,
					RetentionInterval:          retentionInterval,
				},
				Logger: ctrl.Log.WithName("controller"),
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&leaderElect, "leader-elect", true, "elect one active replica with a Lease")
	f.StringVar(&leaderNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's)")
	f.DurationVar(&lease.LeaseDuration, "leader-election-lease-duration", app.DefaultLease.LeaseDuration, "how long a standby replica waits before taking over an unrenewed leader Lease")
	f.DurationVar(&lease.RenewDeadline, "leader-election-renew-deadline", app.DefaultLease.RenewDeadline, "how long the leader retries renewing its Lease before giving up leadership")
	f.DurationVar(&lease.RetryPeriod, "leader-election-retry-period", app.DefaultLease.RetryPeriod, "interval between Lease renewals: an idle controller writes 60s/this per minute")
	f.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint")
	f.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&kubeAPIHTTP2, "kube-api-http2", false, "talk HTTP/2 to the Kubernetes API server (one connection for every request and watch); by default each request has an HTTP/1.1 connection of its own, which measured faster under load (docs/scale.md)")
	f.StringVar(&pprofAddr, "pprof-bind-address", "", "address of Go's /debug/pprof profiles (off when empty; never expose it)")
	f.StringVar(&workDir, "work-dir", os.TempDir()+"/haul", "where Promotions check out Git repositories and caches live; one process's alone (locked at start)")
	f.DurationVar(&minWarehouseInterval, "min-warehouse-interval", 0, "floor for Warehouse spec.interval")
	f.StringVar(&accessRole, "project-access-role", "", "ClusterRole to bind in every project namespace (secrets access for Haul itself)")
	f.StringSliceVar(&accessSubjects, "project-access-subject", nil, "service account NAMESPACE:NAME bound to --project-access-role (repeatable)")
	f.StringVar(&externalURL, "external-url", "", "URL of the Haul server, used to publish webhook receiver URLs")
	f.StringVar(&sharedCredsNamespace, "shared-credentials-namespace", "", sharedCredsHelp)
	f.BoolVar(&denyPrivateHTTP, "deny-private-http", false, denyPrivateHTTPHelp)
	f.BoolVar(&denyPlainHTTPGit, "deny-plain-http-git", false, denyPlainHTTPGitHelp)
	f.StringVar(&pushIntegration, "push-integration-policy", string(gitx.AlwaysRebase), pushIntegrationHelp)
	f.Int32Var(&retentionDefaults.PromotionsPerStage, "retention-promotions-per-stage", 0, "default terminal Promotions kept per Stage (0 keeps all; ProjectConfig spec.retention overrides)")
	f.Int32Var(&retentionDefaults.FreightPerWarehouse, "retention-freight-per-warehouse", 0, "default newest Freight always kept per Warehouse (0 keeps all Freight)")
	f.DurationVar(&retentionDefaults.MinFreightAge, "retention-min-freight-age", 7*24*time.Hour, "default age below which Freight is never deleted, and the window in which a verification or approval keeps it")
	f.DurationVar(&retentionInterval, "retention-interval", retention.DefaultInterval, "how often each project is swept by retention")
	f.StringVar(&shardName, "shard", "", "reconcile only the Warehouses, Stages and Promotions labelled haul.dev/shard=NAME (each shard elects its own leader); without it, the unlabelled ones")
	f.StringVar(&reconcilerKubeconfig, "reconciler-kubeconfig", "", "kubeconfig of the cluster where this shard's Argo CD and Flux run (argocd-*/flux-reconcile steps and health checks); default: the control plane's (--kubeconfig)")
	f.BoolVar(&installCRDs, "install-crds", false, "install or upgrade the CRDs at start (the Helm chart installs them itself)")
	f.BoolVar(&devLogs, "dev-logs", false, "human-readable logs instead of JSON")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug|info|error")
	return cmd
}

// newServerCommand builds `haul server`.
func newServerCommand(g *GlobalOptions) *cobra.Command {
	var (
		addr        string
		externalURL string
		clusterNS   string
		oidc        server.OIDCConfig
		devLogs     bool
		logLevel    string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the REST API, dashboard and webhook receivers in a cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := setServerLogger(logLevel, devLogs); err != nil {
				return err
			}
			cfg, err := serverConfig(g)
			if err != nil {
				return err
			}
			if oidc.ClientSecret == "" {
				oidc.ClientSecret = os.Getenv("HAUL_OIDC_CLIENT_SECRET")
			}
			var oidcCfg *server.OIDCConfig
			if oidc.IssuerURL != "" {
				if oidc.ClientID == "" {
					return fmt.Errorf("--oidc-client-id is required with --oidc-issuer-url %s", oidc.IssuerURL)
				}
				if err := auth.ValidatePrefix("--oidc-username-prefix", oidc.UsernamePrefix); err != nil {
					return err
				}
				if err := auth.ValidatePrefix("--oidc-groups-prefix", oidc.GroupsPrefix); err != nil {
					return err
				}
				oidcCfg = &oidc
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return app.Run(ctx, app.Config{
				RestConfig:  cfg,
				Addr:        addr,
				Server:      true,
				ExternalURL: externalURL,
				OIDC:        oidcCfg,
				// The ClusterConfig's webhook receivers read their Secrets there.
				ClusterSecretsNamespace: clusterNS,
				Logger:                  ctrl.Log.WithName("server"),
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", ":8080", "address of the API, dashboard, webhooks, /metrics, /healthz and /readyz")
	f.StringVar(&externalURL, "external-url", "", "URL users reach the server at (for login redirects and webhook URLs)")
	f.StringVar(&clusterNS, "shared-credentials-namespace", "", "namespace of the Secrets of the ClusterConfig's webhook receivers (the controller's --shared-credentials-namespace); empty: cluster receivers answer 401")
	f.StringVar(&oidc.IssuerURL, "oidc-issuer-url", "", "OpenID Connect issuer for dashboard login")
	f.StringVar(&oidc.ClientID, "oidc-client-id", "", "OpenID Connect client ID")
	f.StringVar(&oidc.ClientSecret, "oidc-client-secret", "", "OpenID Connect client secret (or $HAUL_OIDC_CLIENT_SECRET)")
	f.StringSliceVar(&oidc.Scopes, "oidc-scopes", nil, "extra OpenID Connect scopes (default profile, email, groups)")
	f.StringVar(&oidc.UsernamePrefix, "oidc-username-prefix", auth.DefaultPrefix, "prefix of every user name from an ID token (\"-\" for none); names in system: are always refused")
	f.StringVar(&oidc.GroupsPrefix, "oidc-groups-prefix", auth.DefaultPrefix, "prefix of every group from an ID token (\"-\" for none); groups in system: are always dropped")
	f.BoolVar(&devLogs, "dev-logs", false, "human-readable logs instead of JSON")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug|info|error")
	return cmd
}

// Package app assembles Haul's server side: the controller manager with every
// reconciler, and the HTTP server (health, metrics, webhooks, REST API, dashboard).
// `haul up`, `haul controller` and `haul server` each run a part of it.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers"
	"github.com/haul-dev/haul/internal/bootstrap"
	"github.com/haul-dev/haul/internal/server"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/shard"
)

// Config selects what runs and where.
type Config struct {
	RestConfig *rest.Config
	// Addr is where the HTTP server listens; empty disables it.
	Addr string
	// Controllers runs the controller manager.
	Controllers bool
	// Server serves the REST API, dashboard and webhooks on Addr.
	Server bool
	// InstallCRDs installs or upgrades the CRDs before starting.
	InstallCRDs bool
	// LeaderElection makes controller replicas elect one active leader.
	LeaderElection          bool
	LeaderElectionNamespace string
	// Lease times the leader-election Lease; zero fields take DefaultLease's.
	Lease LeaseTimings
	// MetricsAddr and ProbeAddr are the manager's own listeners (in-cluster mode);
	// empty means metrics and probes are served on Addr instead.
	MetricsAddr string
	ProbeAddr   string
	// PprofAddr, when set, serves Go's /debug/pprof profiles there (controller-runtime's
	// pprof listener), for profiling a controller under load. Off by default.
	PprofAddr string
	// AdminToken is accepted as a bearer token with full rights (local mode only).
	AdminToken string
	// ExternalURL is how users reach the server (for login and webhook URLs).
	ExternalURL string
	// ClusterSecretsNamespace is where the ClusterConfig's webhook receivers read their
	// Secrets (Haul's shared credentials namespace); empty: they answer 401.
	ClusterSecretsNamespace string
	// OIDC configures single sign-on for the dashboard; nil disables it.
	OIDC *server.OIDCConfig
	// ShardSelect makes the manager's cache hold only the Warehouses, Stages and
	// Promotions of ControllerOptions.Shard (labelled haul.dev/shard=NAME, or unlabelled
	// for the default shard), so the process reconciles only those. `haul controller`
	// sets it; `haul up` (one process that also serves the dashboard) does not.
	ShardSelect bool
	// ControllerOptions are passed to every controller.
	ControllerOptions controllers.Options
	Logger            logr.Logger
	// Ready is called once everything is serving.
	Ready func()
}

// OIDCConfig configures the dashboard's single sign-on.
type OIDCConfig struct {
	IssuerURL, ClientID, ClientSecret, RedirectURL string
	Scopes                                         []string
}

// LeaseTimings are the leader-election Lease's durations. The leader renews every
// RetryPeriod, so an idle controller writes 60s/RetryPeriod times a minute; a standby
// takes over at most LeaseDuration after the leader dies (at once after a clean stop,
// which releases the Lease).
type LeaseTimings struct {
	// LeaseDuration is how long a standby waits before taking an unrenewed Lease.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it gives up
	// leadership (and exits).
	RenewDeadline time.Duration
	// RetryPeriod is the interval between renewals (and standbys' attempts).
	RetryPeriod time.Duration
}

// DefaultLease renews twice a minute (Kargo's order of magnitude; controller-runtime's
// default of every 2 s costs 30 writes a minute on an idle installation).
var DefaultLease = LeaseTimings{LeaseDuration: 90 * time.Second, RenewDeadline: 60 * time.Second, RetryPeriod: 30 * time.Second}

// withDefaults fills zero fields from DefaultLease and checks the order client-go's
// leader election needs (LeaseDuration > RenewDeadline > 1.2 × RetryPeriod).
func (l LeaseTimings) withDefaults() (LeaseTimings, error) {
	if l.LeaseDuration == 0 {
		l.LeaseDuration = DefaultLease.LeaseDuration
	}
	if l.RenewDeadline == 0 {
		l.RenewDeadline = DefaultLease.RenewDeadline
	}
	if l.RetryPeriod == 0 {
		l.RetryPeriod = DefaultLease.RetryPeriod
	}
	if l.LeaseDuration <= l.RenewDeadline {
		return l, fmt.Errorf("--leader-election-lease-duration %s must be longer than --leader-election-renew-deadline %s", l.LeaseDuration, l.RenewDeadline)
	}
	if float64(l.RenewDeadline) <= 1.2*float64(l.RetryPeriod) {
		return l, fmt.Errorf("--leader-election-renew-deadline %s must be longer than 1.2 × --leader-election-retry-period %s", l.RenewDeadline, l.RetryPeriod)
	}
	return l, nil
}

// Scheme has the Kubernetes built-ins and Haul's types.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = haulv1.AddToScheme(s)
	return s
}

type promotionLister struct{ c client.Reader }

func (l promotionLister) List(ctx context.Context, list *haulv1.PromotionList) error {
	return l.c.List(ctx, list)
}

// ShardCache is the manager cache of shard name ("" for the default controller): it
// holds only that shard's Warehouses, Stages and Promotions. Freight is cached whole:
// a Stage may take Freight from a Warehouse or an upstream Stage of another shard (a
// Warehouse on the control plane, Stages next to each cluster's Argo CD), and the
// Warehouse controller picks aliases unique in the project.
func ShardCache(name string) cache.Options {
	sel := shard.Selector(name)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&haulv1.Warehouse{}: {Label: sel},
		&haulv1.Stage{}:     {Label: sel},
		&haulv1.Promotion{}: {Label: sel},
	}}
}

// ControllerUserAgent is the user agent (and so the field manager) of a shard's
// controller: haul-controller, or haul-controller-NAME.
func ControllerUserAgent(name string) string {
	if name == "" {
		return "haul-controller"
	}
	return "haul-controller-" + name
}

// Run runs until ctx is cancelled, then stops everything it started.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	scheme := Scheme()
	// Haul's own metrics are served wherever the manager's are.
	if err := metrics.Register(crmetrics.Registry); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if cfg.InstallCRDs {
		c, err := client.New(cfg.RestConfig, client.Options{Scheme: bootstrap.Scheme()})
		if err != nil {
			return err
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = bootstrap.Install(ictx, c)
		cancel()
		if err != nil {
			return fmt.Errorf("installing CRDs: %w", err)
		}
	}

	lease, err := cfg.Lease.withDefaults()
	if err != nil {
		return err
	}
	name := cfg.ControllerOptions.Shard
	if err := shard.Validate("--shard", name); err != nil {
		return err
	}
	restCfg := rest.CopyConfig(cfg.RestConfig)
	if cfg.Controllers {
		// The API server names a write's field manager after the user agent, so
		// managedFields and audit logs say which shard's controller wrote an object.
		restCfg.UserAgent = ControllerUserAgent(name)
		if cfg.ShardSelect && name != "" {
			log = log.WithValues("shard", name)
		}
	}
	mgrOpts := ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          cfg.LeaderElection,
		LeaderElectionID:        shard.LeaseName(name),
		LeaderElectionNamespace: cfg.LeaderElectionNamespace,
		LeaseDuration:           &lease.LeaseDuration,
		RenewDeadline:           &lease.RenewDeadline,
		RetryPeriod:             &lease.RetryPeriod,
		// A clean stop (rollout, SIGTERM) hands over at once instead of after
		// LeaseDuration. Run returns only after the manager has stopped.
		LeaderElectionReleaseOnCancel: true,
	}
	if cfg.ShardSelect {
		mgrOpts.Cache = ShardCache(name)
	}
	if cfg.MetricsAddr != "" {
		mgrOpts.Metrics.BindAddress = cfg.MetricsAddr
	}
	if cfg.PprofAddr != "" {
		mgrOpts.PprofBindAddress = cfg.PprofAddr
	}
	if cfg.ProbeAddr != "" {
		mgrOpts.HealthProbeBindAddress = cfg.ProbeAddr
	}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("creating controller manager: %w", err)
	}
	if cfg.Controllers {
		copts := cfg.ControllerOptions
		copts.ShardCache = cfg.ShardSelect
		if err := controllers.SetupAll(mgr, copts); err != nil {
			return fmt.Errorf("setting up controllers: %w", err)
		}
		if err := crmetrics.Registry.Register(metrics.PromotionGauge(promotionLister{mgr.GetClient()})); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	var synced atomic.Bool
	readyCheck := func(*http.Request) error {
		if !synced.Load() {
			return errors.New("caches not synced yet")
		}
		return nil
	}
	if cfg.ProbeAddr != "" {
		_ = mgr.AddHealthzCheck("ping", healthz.Ping)
		_ = mgr.AddReadyzCheck("caches", readyCheck)
	}

	var srv *http.Server
	if cfg.Addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := readyCheck(r); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})
		if cfg.MetricsAddr == "" {
			mux.Handle("/metrics", promhttp.HandlerFor(crmetrics.Registry, promhttp.HandlerOpts{}))
		}
		if cfg.Server {
			if err := mountServer(ctx, mux, mgr, cfg); err != nil {
				return err
			}
		}
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
		}
		// Read, write and idle timeouts keep slow or idle clients from holding
		// connections; the API's event stream lifts the write deadline itself.
		srv = server.Limits{}.HTTPServer(mux)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "HTTP server stopped")
			}
		}()
	}

	mgrErr := make(chan error, 1)
	go func() { mgrErr <- mgr.Start(ctx) }()
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			synced.Store(true)
			if cfg.Ready != nil {
				cfg.Ready()
			}
		}
	}()

	err = <-mgrErr
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	return err
}

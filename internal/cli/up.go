package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/haul-dev/haul/controllers"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/controlplane"
	"github.com/haul-dev/haul/internal/demo"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/pkg/gitx"
)

// upOptions are the flags of `haul up`.
type upOptions struct {
	dataDir              string
	addr                 string
	kubeconfig           string
	assets               string
	demo                 bool
	logLevel             string
	minWarehouseInterval time.Duration
	sharedCredsNamespace string
	printLoginURL        bool
	denyPrivateHTTP      bool
	denyPlainHTTPGit     bool
	reconciler           string
	fluxBinDir           string
	pushIntegration      string
}

// Reconcilers `haul up --reconciler` can run next to Haul.
const (
	reconcilerNone = "none"
	reconcilerFlux = "flux"
)

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "haul")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".haul"
	}
	return filepath.Join(home, ".local", "share", "haul")
}

// newUpCommand builds `haul up`.
func newUpCommand(g *GlobalOptions) *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run Haul locally: control plane, controllers, API and dashboard in one process",
		Long: `Run everything on this machine: a real kube-apiserver and etcd (state kept in
--data-dir, so a restart keeps every object) with kube-controller-manager for namespace
deletion and garbage collection, Haul's CRDs, all controllers, and the
REST API, dashboard and webhook receivers on --addr. With --kubeconfig, use an
existing cluster instead of the embedded control plane.

With --reconciler flux, also run Flux's source-controller and kustomize-controller
(from --flux-bin-dir, built by make flux) against the embedded control plane, with
Flux's CRDs installed; --demo then applies each stage's branch into a namespace of
its own through a GitRepository and a Kustomization, and its promotions end with
flux-reconcile, so each Stage's health comes from Flux.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --kubeconfig is a global flag; for up it means "use that cluster".
			o.kubeconfig = g.Kubeconfig
			return runUp(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "where state, logs, the kubeconfig and the admin token are kept")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address of the dashboard, REST API and webhooks")
	f.StringVar(&o.assets, "controlplane-assets", "", "directory holding kube-apiserver, etcd and kube-controller-manager (default $"+controlplane.AssetsEnv+", then the build cache)")
	f.BoolVar(&o.demo, "demo", false, "also start a local registry and Git server and a demo project")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug|info|error")
	f.DurationVar(&o.minWarehouseInterval, "min-warehouse-interval", 0, "floor for Warehouse spec.interval (default: the controller's)")
	f.StringVar(&o.sharedCredsNamespace, "shared-credentials-namespace", "", sharedCredsHelp)
	f.BoolVar(&o.printLoginURL, "print-login-url", false, "print a dashboard URL carrying the admin token (by default only the token file's path is printed)")
	f.BoolVar(&o.denyPrivateHTTP, "deny-private-http", false, denyPrivateHTTPHelp)
	f.BoolVar(&o.denyPlainHTTPGit, "deny-plain-http-git", false, denyPlainHTTPGitHelp)
	f.StringVar(&o.reconciler, "reconciler", reconcilerNone, "GitOps reconciler to run next to Haul: none, or flux (Flux source- and kustomize-controller; the demo then deploys each stage through Flux)")
	f.StringVar(&o.fluxBinDir, "flux-bin-dir", testservers.FluxDir(), "directory holding source-controller, kustomize-controller and crds/ (built by make flux), for --reconciler flux")
	f.StringVar(&o.pushIntegration, "push-integration-policy", string(gitx.AlwaysRebase), pushIntegrationHelp)
	return cmd
}

func runUp(parent context.Context, out io.Writer, o *upOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Refuse a reconciler that cannot start before anything else does.
	if err := checkReconciler(o); err != nil {
		return err
	}

	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	unlock, err := controlplane.LockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()

	logger, closeLog, err := fileLogger(filepath.Join(dataDir, "logs", "haul.log"), o.logLevel)
	if err != nil {
		return err
	}
	defer closeLog()
	ctrl.SetLogger(logger)

	var restCfg *rest.Config
	var cp *controlplane.ControlPlane
	kubeconfigPath := filepath.Join(dataDir, "kubeconfig")
	apiURL := ""
	if o.kubeconfig != "" {
		restCfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return fmt.Errorf("loading --kubeconfig %s: %w", o.kubeconfig, err)
		}
		kubeconfigPath, apiURL = o.kubeconfig, restCfg.Host
	} else {
		fmt.Fprintf(out, "Starting the control plane (etcd, kube-apiserver, kube-controller-manager) in %s ...\n", dataDir)
		cp, err = controlplane.Start(ctx, controlplane.Options{DataDir: dataDir, AssetsDir: o.assets})
		if err != nil {
			return err
		}
		if cp.Warning != "" {
			fmt.Fprintln(os.Stderr, "warning:", cp.Warning)
		}
		defer func() {
			if err := cp.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "warning: stopping the control plane:", err)
			}
		}()
		restCfg, apiURL = cp.Config, cp.APIServerURL
	}
	var flux *testservers.Flux
	if o.reconciler == reconcilerFlux {
		fmt.Fprintf(out, "Starting Flux (source-controller %s, kustomize-controller %s) from %s ...\n",
			testservers.FluxSourceControllerVersion, testservers.FluxKustomizeControllerVersion, o.fluxBinDir)
		flux, err = startFlux(ctx, restCfg, o.fluxBinDir, filepath.Join(dataDir, "flux"), o.logLevel)
		if err != nil {
			return err
		}
		// Deferred after the control plane's Stop, so it runs before it: the
		// controllers end while the API server they talk to is still there.
		defer func() {
			if err := flux.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "warning: stopping Flux:", err)
			}
		}()
	}

	token, err := writeAdminToken(dataDir)
	if err != nil {
		return err
	}
	integration, err := gitx.ParseIntegration(o.pushIntegration)
	if err != nil {
		return fmt.Errorf("--push-integration-policy: %w", err)
	}
	baseURL := "http://" + o.addr
	ready := make(chan struct{})
	cfg := app.Config{
		RestConfig:  restCfg,
		Addr:        o.addr,
		Controllers: true,
		Server:      true,
		InstallCRDs: true,
		AdminToken:  token,
		ExternalURL: baseURL,
		// The ClusterConfig's webhook receivers read their Secrets there too.
		ClusterSecretsNamespace: o.sharedCredsNamespace,
		ControllerOptions: controllers.Options{
			MinWarehouseInterval:       o.minWarehouseInterval,
			SharedCredentialsNamespace: o.sharedCredsNamespace,
			DenyPrivateHTTP:            o.denyPrivateHTTP,
			DenyPlainHTTPGit:           o.denyPlainHTTPGit,
			PushIntegration:            integration,
			WorkDir:                    filepath.Join(dataDir, "work"),
			ExternalURL:                baseURL,
		},
		Logger: logger,
		Ready:  func() { close(ready) },
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx, cfg) }()
	select {
	case err := <-errc:
		return err
	case <-ready:
	}
	var d *demo.Demo
	if o.demo {
		d, err = demo.Start(ctx, dataDir, restCfg, demo.Options{Flux: flux != nil})
		if err != nil {
			stop()
			return errors.Join(fmt.Errorf("starting the demo: %w", err), <-errc)
		}
		defer d.Close()
	}
	printUp(out, dataDir, apiURL, kubeconfigPath, baseURL, token, o.printLoginURL)
	if flux != nil {
		fmt.Fprintf(out, "\nFlux: source-controller and kustomize-controller reconcile every namespace (RUNTIME_NAMESPACE %s; logs in %s).\n",
			testservers.FluxNamespace, filepath.Join(flux.Dir, "logs"))
	}
	if d != nil {
		d.Print(out, dataDir)
	}
	err = <-errc
	fmt.Fprintln(out, "Haul stopped.")
	return err
}

// printUp prints the ready banner. The admin token itself appears only with
// loginURL (--print-login-url): terminals, CI logs and screen shares keep what is
// printed, so by default the banner names the file holding the token instead.
func printUp(out io.Writer, dataDir, apiURL, kubeconfig, baseURL, token string, loginURL bool) {
	var b strings.Builder
	tokenFile := filepath.Join(dataDir, "admin-token")
	fmt.Fprintf(&b, "\nHaul is up.\n")
	if loginURL {
		fmt.Fprintf(&b, "  Dashboard:       %s/?token=%s\n", baseURL, token)
	} else {
		fmt.Fprintf(&b, "  Dashboard:       %s/\n", baseURL)
		fmt.Fprintf(&b, "  Admin token:     %s (paste it on the login page, or run with --print-login-url for a link that logs in)\n", tokenFile)
	}
	fmt.Fprintf(&b, "  REST API:        %s/api/v1 (Authorization: Bearer <token in %s>)\n", baseURL, tokenFile)
	fmt.Fprintf(&b, "  Webhooks:        %s/webhooks/<project>/<receiver>\n", baseURL)
	fmt.Fprintf(&b, "  Kubernetes API:  %s\n", apiURL)
	fmt.Fprintf(&b, "  Kubeconfig:      %s\n", kubeconfig)
	fmt.Fprintf(&b, "  Data and logs:   %s\n", dataDir)
	fmt.Fprintf(&b, "\nTry: export KUBECONFIG=%s; haul get projects\nPress Ctrl-C to stop.\n", kubeconfig)
	_, _ = io.WriteString(out, b.String())
}

// writeAdminToken makes a fresh token for this run and stores it readable only by the user.
func writeAdminToken(dataDir string) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := hex.EncodeToString(buf)
	if err := os.WriteFile(filepath.Join(dataDir, "admin-token"), []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing admin token: %w", err)
	}
	return token, nil
}

// fileLogger logs JSON lines to path; errors also go to stderr so users see them. The
// log can hold what registries and Git servers answered, so only its owner may read
// it: the file is 0600 and its directory 0700, also when they already existed.
func fileLogger(path, level string) (logr.Logger, func(), error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return logr.Discard(), nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return logr.Discard(), nil, fmt.Errorf("restricting log directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return logr.Discard(), nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return logr.Discard(), nil, fmt.Errorf("restricting log file %s: %w", path, err)
	}
	lvl, err := parseLogLevel(level)
	if err != nil {
		_ = f.Close()
		return logr.Discard(), nil, err
	}
	l := zap.New(zap.WriteTo(f), zap.Level(lvl))
	return l, func() { _ = f.Close() }, nil
}

func parseLogLevel(level string) (zapcore.Level, error) {
	switch level {
	case "debug":
		return zapcore.DebugLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	case "info", "":
		return zapcore.InfoLevel, nil
	}
	return zapcore.InfoLevel, fmt.Errorf("--log-level: unknown level %q (want debug, info or error)", level)
}

// checkReconciler validates --reconciler, and for flux that the binaries are there, so
// that a missing build fails before the control plane starts.
func checkReconciler(o *upOptions) error {
	switch o.reconciler {
	case reconcilerNone, "":
		return nil
	case reconcilerFlux:
	default:
		return fmt.Errorf("--reconciler %q: want %s or %s", o.reconciler, reconcilerNone, reconcilerFlux)
	}
	if o.kubeconfig != "" {
		return fmt.Errorf("--reconciler %s runs Flux against the embedded control plane; with --kubeconfig %s, install Flux in that cluster instead (its flux-reconcile steps and health work the same)", reconcilerFlux, o.kubeconfig)
	}
	if err := testservers.FluxBinariesIn(o.fluxBinDir).Check(); err != nil {
		return fmt.Errorf("--reconciler %s: --flux-bin-dir %s: %w", reconcilerFlux, o.fluxBinDir, err)
	}
	return nil
}

// startFlux installs Flux's CRDs and runs source-controller and kustomize-controller
// from binDir against cfg, keeping their logs, kubeconfig and artifacts in dir.
func startFlux(ctx context.Context, cfg *rest.Config, binDir, dir, logLevel string) (*testservers.Flux, error) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	bins := testservers.FluxBinariesIn(binDir)
	if err := testservers.InstallFluxCRDs(ctx, c, bins.CRDDir); err != nil {
		return nil, fmt.Errorf("installing Flux CRDs from %s: %w", bins.CRDDir, err)
	}
	f, err := testservers.StartFlux(ctx, c, testservers.FluxOptions{FluxBinaries: bins, Dir: dir, Config: cfg, LogLevel: logLevel})
	if err != nil {
		return nil, fmt.Errorf("starting Flux (logs in %s): %w", filepath.Join(dir, "logs"), err)
	}
	return f, nil
}

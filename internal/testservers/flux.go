package testservers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Flux releases hack/flux/build.sh builds; the cache directory is keyed by both.
const (
	FluxSourceControllerVersion    = "v1.9.6"
	FluxKustomizeControllerVersion = "v1.9.6"
)

// FluxNamespace is the namespace the Flux controllers consider their own
// (RUNTIME_NAMESPACE), as flux install creates it.
const FluxNamespace = "flux-system"

// FluxBinaries are the paths hack/flux/build.sh prints.
type FluxBinaries struct {
	SourceController    string
	KustomizeController string
	// CRDDir holds the CRDs shipped in the two controllers' modules (config/crd/bases).
	CRDDir string
}

// DefaultFluxBinaries is where hack/flux/build.sh puts the binaries and CRDs, or the
// directory named by HAUL_FLUX_DIR.
func DefaultFluxBinaries() FluxBinaries {
	dir := os.Getenv("HAUL_FLUX_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "haul",
			"flux-source-"+FluxSourceControllerVersion+"-kustomize-"+FluxKustomizeControllerVersion)
	}
	return FluxBinaries{
		SourceController:    filepath.Join(dir, "source-controller"),
		KustomizeController: filepath.Join(dir, "kustomize-controller"),
		CRDDir:              filepath.Join(dir, "crds"),
	}
}

// InstallFluxCRDs installs every CRD in dir and waits until the API server serves them.
func InstallFluxCRDs(ctx context.Context, c client.Client, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return fmt.Errorf("listing Flux CRDs: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no Flux CRDs in %s (hack/flux/build.sh copies them there)", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading Flux CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, crd); err != nil {
			return fmt.Errorf("decoding %s: %w", filepath.Base(f), err)
		}
		if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("installing %s: %w", crd.Name, err)
		}
		if err := waitEstablished(ctx, c, crd.Name); err != nil {
			return err
		}
	}
	return nil
}

// FluxOptions configure StartFlux.
type FluxOptions struct {
	FluxBinaries
	// Dir is a scratch directory for logs, the kubeconfig and source-controller's
	// artifact storage.
	Dir string
	// Config reaches the API server the controllers reconcile against.
	Config *rest.Config
}

// Flux is a running source-controller and kustomize-controller. Every listener they
// open is on 127.0.0.1, so they need no network namespace of their own.
type Flux struct {
	Dir string
	// ArtifactAddr is where source-controller serves artifacts (host:port), the address
	// it writes into status.artifact.url for kustomize-controller to fetch from.
	ArtifactAddr string
	procs        []*exec.Cmd
}

// StartFlux creates namespace flux-system, then starts source-controller and
// kustomize-controller against opts.Config and waits until both report ready.
func StartFlux(ctx context.Context, c client.Client, opts FluxOptions) (*Flux, error) {
	for _, bin := range []string{opts.SourceController, opts.KustomizeController} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("flux binary %s: %w (build it with hack/flux/build.sh)", bin, err)
		}
	}
	for _, d := range []string{"logs", "artifacts", "home"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	kubeconfig := filepath.Join(opts.Dir, "kubeconfig")
	if err := writeKubeconfig(opts.Config, kubeconfig); err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: FluxNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", FluxNamespace, err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	f := &Flux{Dir: opts.Dir, ArtifactAddr: addr(ports[0])}
	env := []string{
		"KUBECONFIG=" + kubeconfig,
		"RUNTIME_NAMESPACE=" + FluxNamespace,
		"HOME=" + filepath.Join(opts.Dir, "home"),
		"PATH=" + os.Getenv("PATH"),
	}
	// Flags shared by both controllers: loopback listeners, no leader election (one
	// replica), no notification-controller to send events to.
	common := func(metrics, health int) []string {
		return []string{
			"--metrics-addr=" + addr(metrics), "--health-addr=" + addr(health),
			"--enable-leader-election=false", "--watch-all-namespaces=true",
			"--events-addr=", "--log-level=debug", "--log-encoding=json",
		}
	}
	source := append(common(ports[1], ports[2]),
		"--storage-path="+filepath.Join(opts.Dir, "artifacts"),
		"--storage-addr="+f.ArtifactAddr, "--storage-adv-addr="+f.ArtifactAddr)
	if err := f.start("source-controller", opts.SourceController, env, source...); err != nil {
		return nil, err
	}
	// A Kustomization whose source has no artifact yet is retried after
	// --requeue-dependency (30s by default); tests push and wait for seconds, not minutes.
	kustomize := append(common(ports[3], ports[4]), "--requeue-dependency=2s")
	if err := f.start("kustomize-controller", opts.KustomizeController, env, kustomize...); err != nil {
		f.Stop()
		return nil, err
	}
	for i, name := range []string{"source-controller", "kustomize-controller"} {
		if err := waitReady(ctx, "http://"+addr(ports[2+2*i])+"/readyz", time.Minute); err != nil {
			f.Stop()
			return nil, fmt.Errorf("%s did not become ready: %w; log tail:\n%s", name, err, f.Logs(name, 2000))
		}
	}
	return f, nil
}

func (f *Flux) start(name, bin string, env []string, args ...string) error {
	logf, err := os.Create(filepath.Join(f.Dir, "logs", name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	// A test binary that dies without running Stop must not leave controllers behind
	// reconciling against the next test's API server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	f.procs = append(f.procs, cmd)
	return nil
}

// waitReady polls a controller's readiness endpoint until it answers 200.
func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("after %s: %w", timeout, last)
}

// Stop ends the controllers StartFlux started.
func (f *Flux) Stop() {
	for i := len(f.procs) - 1; i >= 0; i-- {
		p := f.procs[i]
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	f.procs = nil
}

// Logs returns the tail of one controller's log (source-controller, kustomize-controller).
func (f *Flux) Logs(name string, maxBytes int) string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "logs", name+".log"))
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	return strings.TrimSpace(string(b))
}

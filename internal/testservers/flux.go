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

// FluxBuildHint is the command that builds the Flux binaries when they are missing.
const FluxBuildHint = "make flux (or hack/flux/build.sh)"

// FluxBinaries are the paths hack/flux/build.sh prints.
type FluxBinaries struct {
	SourceController    string
	KustomizeController string
	// CRDDir holds the CRDs shipped in the two controllers' modules (config/crd/bases).
	CRDDir string
}

// FluxDir is the directory hack/flux/build.sh builds into: $HAUL_FLUX_DIR if set, else
// flux-source-<v>-kustomize-<v> under $HAUL_CACHE_DIR, $XDG_CACHE_HOME/haul or
// ~/.cache/haul, the same lookup the build script makes.
func FluxDir() string {
	if dir := os.Getenv("HAUL_FLUX_DIR"); dir != "" {
		return dir
	}
	root := os.Getenv("HAUL_CACHE_DIR")
	if root == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		root = filepath.Join(base, "haul")
	}
	return filepath.Join(root, "flux-source-"+FluxSourceControllerVersion+"-kustomize-"+FluxKustomizeControllerVersion)
}

// FluxBinariesIn are the binaries and CRDs hack/flux/build.sh leaves in dir.
func FluxBinariesIn(dir string) FluxBinaries {
	return FluxBinaries{
		SourceController:    filepath.Join(dir, "source-controller"),
		KustomizeController: filepath.Join(dir, "kustomize-controller"),
		CRDDir:              filepath.Join(dir, "crds"),
	}
}

// DefaultFluxBinaries is where hack/flux/build.sh puts the binaries and CRDs (FluxDir).
func DefaultFluxBinaries() FluxBinaries { return FluxBinariesIn(FluxDir()) }

// Check reports every binary that is missing or not executable and a missing CRD
// directory, in one error naming them and how to build them.
func (b FluxBinaries) Check() error {
	var missing []string
	for _, bin := range []string{b.SourceController, b.KustomizeController} {
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 { //nolint:gosec // G703: the operator's own binary directory
			missing = append(missing, bin)
		}
	}
	if crds, _ := filepath.Glob(filepath.Join(b.CRDDir, "*.yaml")); len(crds) == 0 {
		missing = append(missing, filepath.Join(b.CRDDir, "*.yaml"))
	}
	if len(missing) > 0 {
		return fmt.Errorf("flux binaries not found: %s; build them with %s", strings.Join(missing, ", "), FluxBuildHint)
	}
	return nil
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
	// LogLevel is the controllers' --log-level (debug, info, error); default debug.
	LogLevel string
}

// Flux is a running source-controller and kustomize-controller. Every listener they
// open is on 127.0.0.1, so they need no network namespace of their own.
type Flux struct {
	Dir string
	// ArtifactAddr is where source-controller serves artifacts (host:port), the address
	// it writes into status.artifact.url for kustomize-controller to fetch from.
	ArtifactAddr string
	procs        []fluxProc
}

// fluxProc is one controller process and a channel closed once it has exited.
type fluxProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartFlux creates namespace flux-system, then starts source-controller and
// kustomize-controller against opts.Config and waits until both report ready.
func StartFlux(ctx context.Context, c client.Client, opts FluxOptions) (*Flux, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	// The directory holds a kubeconfig with the API server's credentials.
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting %s: %w", opts.Dir, err)
	}
	for _, d := range []string{"logs", "artifacts", "home"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "debug"
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
			"--events-addr=", "--log-level=" + logLevel, "--log-encoding=json",
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
		_ = f.Stop()
		return nil, err
	}
	for i, name := range []string{"source-controller", "kustomize-controller"} {
		if err := waitReady(ctx, f.procs[i].exited, "http://"+addr(ports[2+2*i])+"/readyz", time.Minute); err != nil {
			_ = f.Stop()
			return nil, fmt.Errorf("%s did not become ready: %w; log tail:\n%s", name, err, f.Logs(name, 2000))
		}
	}
	return f, nil
}

func (f *Flux) start(name, bin string, env []string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(f.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	// A parent that dies without running Stop must not leave controllers behind
	// reconciling against the next API server. Their own process group keeps a
	// terminal's Ctrl-C away from them: Stop ends them, after whoever runs them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := fluxProc{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(p.exited)
	}()
	f.procs = append(f.procs, p)
	return nil
}

// waitReady polls a controller's readiness endpoint until it answers 200, giving up
// at once when the controller has exited.
func waitReady(ctx context.Context, exited <-chan struct{}, url string, timeout time.Duration) error {
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
		case <-exited:
			return errors.New("it exited during start-up")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("after %s: %w", timeout, last)
}

// fluxStopGrace is how long a controller has to exit after SIGTERM before it is killed.
const fluxStopGrace = 10 * time.Second

// Stop ends the controllers StartFlux started, kustomize-controller first: each gets
// SIGTERM (controller-runtime then drains its workers) and is killed if it has not
// exited within fluxStopGrace. The error names any controller that had to be killed.
func (f *Flux) Stop() error {
	var errs []error
	for i := len(f.procs) - 1; i >= 0; i-- {
		p := f.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(fluxStopGrace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			errs = append(errs, fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, fluxStopGrace))
		}
	}
	f.procs = nil
	return errors.Join(errs...)
}

// PIDs are the controllers' process ids, for tests and diagnostics.
func (f *Flux) PIDs() []int {
	var out []int
	for _, p := range f.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// Logs returns the tail of one controller's log (source-controller, kustomize-controller).
func (f *Flux) Logs(name string, maxBytes int) string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "logs", name+".log"))
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	return strings.TrimSpace(string(b))
}

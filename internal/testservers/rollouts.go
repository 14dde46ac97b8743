package testservers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RolloutsVersion is the Argo Rollouts release hack/rollouts/build.sh compiles.
const RolloutsVersion = "v1.10.2"

// RolloutsNamespace is where the controller runs (its notification settings live there).
const RolloutsNamespace = "argo-rollouts"

// RolloutsBinaries locates the controller and the CRDs hack/rollouts/build.sh caches.
type RolloutsBinaries struct {
	// Controller is the rollouts-controller binary.
	Controller string
	// CRDDir holds the Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun
	// and Experiment CRDs copied from the module.
	CRDDir string
}

// DefaultRolloutsBinaries is the cache hack/rollouts/build.sh fills, or $HAUL_ROLLOUTS_DIR.
func DefaultRolloutsBinaries() RolloutsBinaries {
	dir := os.Getenv("HAUL_ROLLOUTS_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "haul", "argo-rollouts-"+RolloutsVersion)
	}
	return RolloutsBinaries{Controller: filepath.Join(dir, "rollouts-controller"), CRDDir: filepath.Join(dir, "crds")}
}

// InstallRolloutsCRDs installs Argo Rollouts' CRDs from dir and waits until they are served.
func InstallRolloutsCRDs(ctx context.Context, c client.Client, dir string) error {
	if err := InstallFluxCRDs(ctx, c, dir); err != nil {
		return fmt.Errorf("argo rollouts CRDs (hack/rollouts/build.sh copies them to %s): %w", dir, err)
	}
	return nil
}

// Rollouts is a running rollouts-controller (analysis controller only: AnalysisRuns
// with metric providers that need no pods, such as web and prometheus).
type Rollouts struct {
	// Dir holds the kubeconfig and the log.
	Dir  string
	proc *exec.Cmd
}

// StartRollouts starts the real rollouts-controller against the API server behind cfg,
// with leader election off and only its analysis controller, and waits until its
// healthz endpoint answers.
func StartRollouts(ctx context.Context, c client.Client, bins RolloutsBinaries, dir string, cfg *rest.Config) (*Rollouts, error) {
	if _, err := os.Stat(bins.Controller); err != nil {
		return nil, fmt.Errorf("argo rollouts binary %s: %w (build it with make rollouts)", bins.Controller, err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cfg, kubeconfig); err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: RolloutsNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", RolloutsNamespace, err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "rollouts-controller.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bins.Controller, "--kubeconfig="+kubeconfig, "--leader-elect=false",
		"--controllers=analysis", "--loglevel=debug",
		"--metricsPort="+strconv.Itoa(ports[0]), "--healthzPort="+strconv.Itoa(ports[1]))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + RolloutsNamespace, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting rollouts-controller: %w", err)
	}
	r := &Rollouts{Dir: dir, proc: cmd}
	if err := waitReady(ctx, nil, "http://127.0.0.1:"+strconv.Itoa(ports[1])+"/healthz", time.Minute); err != nil {
		r.Stop()
		return nil, fmt.Errorf("rollouts-controller did not become ready: %w; log tail:\n%s", err, r.Logs(2000))
	}
	return r, nil
}

// Logs returns the last n bytes of the controller's log.
func (r *Rollouts) Logs(n int) string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "rollouts-controller.log"))
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Stop kills the controller.
func (r *Rollouts) Stop() {
	if r.proc != nil {
		_ = r.proc.Process.Kill()
		_, _ = r.proc.Process.Wait()
		r.proc = nil
	}
}

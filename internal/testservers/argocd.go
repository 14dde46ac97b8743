package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// ArgoCDVersion is the Argo CD release hack/argocd builds.
const ArgoCDVersion = "v3.5.7"

// ArgoCDOptions configure StartArgoCD.
type ArgoCDOptions struct {
	// Binary is Argo CD's multi-call binary (hack/argocd/build.sh prints its path).
	Binary string
	// CRDDir holds application-crd.yaml and appproject-crd.yaml (Argo CD's
	// manifests/crds in the module cache).
	CRDDir string
	// Dir is a scratch directory for logs, the kubeconfig and the git wrapper.
	Dir string
	// Config reaches the API server Argo CD manages (and stores Applications in).
	Config *rest.Config
}

// ArgoCD is a running Argo CD application controller and repo server, with Redis.
// Their processes must share a network namespace with nothing but loopback: the
// controller's metrics listener binds every interface (see hack/argocd/test.sh).
type ArgoCD struct {
	Dir   string
	procs []*exec.Cmd
}

// DefaultArgoCDBinary is where hack/argocd/build.sh puts the binary.
func DefaultArgoCDBinary() string {
	if p := os.Getenv("HAUL_ARGOCD_BINARY"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "haul", "argocd", ArgoCDVersion, "argocd")
}

// InstallArgoCDCRDs installs the Application and AppProject CRDs and waits until the
// API server serves them.
func InstallArgoCDCRDs(ctx context.Context, c client.Client, dir string) error {
	for _, f := range []string{"application-crd.yaml", "appproject-crd.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("reading Argo CD CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, crd); err != nil {
			return fmt.Errorf("decoding %s: %w", f, err)
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

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, got); err == nil {
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("CRD %s not established after 60s", name)
}

// StartArgoCD creates the objects Argo CD expects in namespace argocd, then starts
// Redis, the repo server and the application controller against opts.Config.
func StartArgoCD(ctx context.Context, c client.Client, opts ArgoCDOptions) (*ArgoCD, error) {
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("argocd binary %s: %w (build it with hack/argocd/build.sh)", opts.Binary, err)
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is required (apt-get install -y redis-server)")
	}
	a := &ArgoCD{Dir: opts.Dir}
	for _, d := range []string{"bin", "tls", "ssh", "logs"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// The repo server always calls this helper, even with GPG verification off.
	wrapper := "#!/bin/sh\n# Reports a commit's or tag's signature; Argo CD calls this even without GPG.\n" +
		"if git cat-file -t \"$1\" 2>/dev/null | grep -q tag; then git verify-tag \"$1\" 2>&1; else git verify-commit \"$1\" 2>&1; fi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(opts.Dir, "bin", "git-verify-wrapper.sh"), []byte(wrapper), 0o755); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(opts.Dir, "kubeconfig")
	if err := writeKubeconfig(opts.Config, kubeconfig); err != nil {
		return nil, err
	}
	if err := createArgoCDObjects(ctx, c); err != nil {
		return nil, err
	}

	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	redisPort, repoPort, repoMetrics, ctrlMetrics := ports[0], ports[1], ports[2], ports[3]
	redisAddr := "127.0.0.1:" + strconv.Itoa(redisPort)
	if err := a.start(opts.Dir, "redis", redisBin, nil, "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"); err != nil {
		return nil, err
	}
	env := []string{
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"KUBECONFIG=" + kubeconfig,
		"ARGOCD_GPG_ENABLED=false",
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(opts.Dir, "tls"),
		"ARGOCD_SSH_DATA_PATH=" + filepath.Join(opts.Dir, "ssh"),
		// The binary's own directory holds the kustomize that hack/argocd/build.sh builds,
		// which the repo server runs for kustomize sources, as Argo CD's image ships it.
		"PATH=" + filepath.Join(opts.Dir, "bin") + ":" + filepath.Dir(opts.Binary) + ":" + os.Getenv("PATH"),
		"HOME=" + opts.Dir,
	}
	if err := a.start(opts.Dir, "repo-server", opts.Binary, append(env, "ARGOCD_BINARY_NAME=argocd-repo-server"),
		"--address", "127.0.0.1", "--port", strconv.Itoa(repoPort),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(repoMetrics),
		"--redis", redisAddr, "--revision-cache-expiration", "5s", "--loglevel", "info"); err != nil {
		a.Stop()
		return nil, err
	}
	if err := a.start(opts.Dir, "application-controller", opts.Binary, append(env, "ARGOCD_BINARY_NAME=argocd-application-controller"),
		"--namespace", "argocd", "--redis", redisAddr, "--repo-server", "127.0.0.1:"+strconv.Itoa(repoPort),
		"--metrics-port", strconv.Itoa(ctrlMetrics), "--app-resync", "10", "--loglevel", "info"); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

func (a *ArgoCD) start(dir, name, bin string, env []string, args ...string) error {
	logf, err := os.Create(filepath.Join(dir, "logs", name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if env != nil {
		cmd.Env = env
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	a.procs = append(a.procs, cmd)
	return nil
}

// Stop ends the processes StartArgoCD started.
func (a *ArgoCD) Stop() {
	for i := len(a.procs) - 1; i >= 0; i-- {
		p := a.procs[i]
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	a.procs = nil
}

// Logs returns the tail of one component's log (redis, repo-server, application-controller).
func (a *ArgoCD) Logs(name string, max int) string {
	b, _ := os.ReadFile(filepath.Join(a.Dir, "logs", name+".log"))
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// writeKubeconfig writes cfg for a child process, with its certificates inline: a
// config that names files (haul up's control plane) is read into data first.
func writeKubeconfig(cfg *rest.Config, path string) error {
	cfg = rest.CopyConfig(cfg)
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return fmt.Errorf("reading the API server's certificates: %w", err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test", Namespace: "argocd"}
	kc.CurrentContext = "test"
	return clientcmd.WriteToFile(*kc, path)
}

// createArgoCDObjects makes namespace argocd with the ConfigMaps, Secret and default
// AppProject Argo CD reads at start-up.
func createArgoCDObjects(ctx context.Context, c client.Client) error {
	create := func(o client.Object) error {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
		return nil
	}
	if err := create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}); err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/part-of": "argocd"}
	cms := map[string]map[string]string{
		"argocd-cm":                 {"timeout.reconciliation": "180s"},
		"argocd-cmd-params-cm":      nil,
		"argocd-rbac-cm":            nil,
		"argocd-ssh-known-hosts-cm": nil,
		"argocd-tls-certs-cm":       nil,
		"argocd-gpg-keys-cm":        nil,
	}
	for name, data := range cms {
		if err := create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd", Labels: labels}, Data: data}); err != nil {
			return err
		}
	}
	if err := create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: "argocd", Labels: labels},
		StringData: map[string]string{"server.secretkey": "haul-test-only"}}); err != nil {
		return err
	}
	proj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default", "namespace": "argocd"},
		"spec": map[string]any{
			"sourceRepos":              []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	}}
	return create(proj)
}

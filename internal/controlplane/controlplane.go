package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options say where the control plane keeps its data and finds its binaries.
type Options struct {
	// DataDir holds etcd data, certificates, logs and the kubeconfig.
	DataDir string
	// AssetsDir holds kube-apiserver and etcd; empty means FindAssets' search order.
	AssetsDir string
	// StartTimeout bounds how long to wait for the API server to become ready.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd and kube-apiserver, and kube-controller-manager when
// its binary is there.
type ControlPlane struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// KubeconfigPath is the kubeconfig written for users, <data-dir>/kubeconfig.
	KubeconfigPath string
	// APIServerURL is where the API server listens.
	APIServerURL string

	// Warning is set when the control plane runs without kube-controller-manager.
	Warning string

	etcd, apiserver, controllerManager *exec.Cmd
	exited                             map[*exec.Cmd]chan struct{}
}

type ports struct {
	Etcd     int `json:"etcd"`
	EtcdPeer int `json:"etcdPeer"`
	API      int `json:"apiServer"`
}

// Start starts etcd and kube-apiserver with state under opts.DataDir and waits until the
// API server is ready. The caller should hold LockDataDir on the same directory.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	assets, err := FindAssets(opts.AssetsDir)
	if err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	dir := opts.DataDir
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	certs := newPKI(filepath.Join(dir, "pki"))
	if err := certs.ensure(); err != nil {
		return nil, fmt.Errorf("preparing certificates: %w", err)
	}
	p, err := loadPorts(filepath.Join(dir, "controlplane.json"))
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{exited: map[*exec.Cmd]chan struct{}{}}
	ok := false
	defer func() {
		if !ok {
			_ = cp.Stop()
		}
	}()

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(p.Etcd)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(p.EtcdPeer)
	cp.etcd, err = cp.spawn(filepath.Join(assets, "etcd"), filepath.Join(logDir, "etcd.log"),
		"--name=haul",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=haul="+peerURL,
		"--listen-metrics-urls=",
		"--quota-backend-bytes=8589934592",
	)
	if err != nil {
		return nil, err
	}
	if err := cp.waitHTTP(ctx, cp.etcd, etcdURL+"/health", nil, opts.StartTimeout, "etcd", filepath.Join(logDir, "etcd.log")); err != nil {
		return nil, err
	}

	cp.APIServerURL = "https://127.0.0.1:" + strconv.Itoa(p.API)
	cp.apiserver, err = cp.spawn(filepath.Join(assets, "kube-apiserver"), filepath.Join(logDir, "kube-apiserver.log"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(p.API),
		"--tls-cert-file="+certs.servingCert,
		"--tls-private-key-file="+certs.servingKey,
		"--client-ca-file="+certs.caCert,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+certs.saPub,
		"--service-account-signing-key-file="+certs.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(dir, "pki", "generated"),
	)
	if err != nil {
		return nil, err
	}
	cfg := &rest.Config{
		Host:            cp.APIServerURL,
		TLSClientConfig: rest.TLSClientConfig{CAFile: certs.caCert, CertFile: certs.adminCert, KeyFile: certs.adminKey},
		QPS:             200,
		Burst:           400,
	}
	tlsCfg, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	if err := cp.waitHTTP(ctx, cp.apiserver, cp.APIServerURL+"/readyz", tlsCfg, opts.StartTimeout, "kube-apiserver", filepath.Join(logDir, "kube-apiserver.log")); err != nil {
		return nil, err
	}
	// readyz can pass a moment before RBAC bootstrap roles exist; a discovery call settles it.
	if cs, err := kubernetes.NewForConfig(cfg); err == nil {
		_, _ = cs.Discovery().ServerVersion()
	}
	cp.Config = cfg
	cp.KubeconfigPath = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cp.KubeconfigPath, cp.APIServerURL, certs); err != nil {
		return nil, err
	}
	if err := cp.startControllerManager(assets, logDir); err != nil {
		return nil, err
	}
	ok = true
	return cp, nil
}

// controllerManagerControllers are the kube-controller-manager loops a machine without
// nodes needs: finishing namespace deletion (a deleted Project's namespace would stay
// Terminating forever, and a Project of the same name could never come back) and
// garbage collection of owned objects.
const controllerManagerControllers = "namespace,garbagecollector"

// startControllerManager runs kube-controller-manager in the background; nothing waits
// for it. Without its binary (a control-plane cache built before it was added) the
// control plane still starts, with Warning saying what is missing.
func (cp *ControlPlane) startControllerManager(assets, logDir string) error {
	bin := filepath.Join(assets, "kube-controller-manager")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		cp.Warning = fmt.Sprintf("kube-controller-manager not found in %s: deleted namespaces stay Terminating and owned objects are not garbage-collected; build it with %s", assets, BuildHint)
		return nil
	}
	var err error
	cp.controllerManager, err = cp.spawn(bin, filepath.Join(logDir, "kube-controller-manager.log"),
		"--kubeconfig="+cp.KubeconfigPath,
		"--controllers="+controllerManagerControllers,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	)
	return err
}

// spawn starts a child that dies with us (Pdeathsig) and logs to logPath.
func (cp *ControlPlane) spawn(bin, logPath string, args ...string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	done := make(chan struct{})
	cp.exited[cmd] = done
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	return cmd, nil
}

func (cp *ControlPlane) waitHTTP(ctx context.Context, cmd *exec.Cmd, url string, rt http.RoundTripper, timeout time.Duration, what, logPath string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: rt}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-cp.exited[cmd]:
			return fmt.Errorf("%s exited during start-up; see %s", what, logPath)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s; see %s", what, timeout, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop terminates kube-controller-manager, the API server, then etcd, waiting for each
// to exit.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for _, cmd := range []*exec.Cmd{cp.controllerManager, cp.apiserver, cp.etcd} {
		if cmd == nil || cmd.Process == nil {
			continue
		}
		done := cp.exited[cmd]
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			errs = append(errs, fmt.Errorf("%s did not stop in 15s and was killed", filepath.Base(cmd.Path)))
		}
	}
	return errors.Join(errs...)
}

// PIDs returns the process ids of the control plane's processes, for tests and diagnostics.
func (cp *ControlPlane) PIDs() []int {
	var out []int
	for _, c := range []*exec.Cmd{cp.etcd, cp.apiserver, cp.controllerManager} {
		if c != nil && c.Process != nil {
			out = append(out, c.Process.Pid)
		}
	}
	return out
}

// loadPorts reuses the ports of the previous run when they are free, so the kubeconfig
// users already have keeps working; otherwise it picks free ones and records them.
func loadPorts(path string) (ports, error) {
	var p ports
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &p)
	}
	for _, port := range []*int{&p.Etcd, &p.EtcdPeer, &p.API} {
		if *port != 0 && portFree(*port) {
			continue
		}
		free, err := freePort()
		if err != nil {
			return p, err
		}
		*port = free
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return p, os.WriteFile(path, b, 0o644)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeKubeconfig(path, server string, p *pki) error {
	ca, err := os.ReadFile(p.caCert)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.adminCert)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.adminKey)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["haul"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["haul-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["haul"] = &clientcmdapi.Context{Cluster: "haul", AuthInfo: "haul-admin"}
	cfg.CurrentContext = "haul"
	return clientcmd.WriteToFile(*cfg, path)
}

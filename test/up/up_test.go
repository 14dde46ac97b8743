// Package up_test drives the built `haul up` binary as a user would: start, write,
// stop, restart on the same data dir, and check nothing is left running.
package up_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/testservers"
)

var haulBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "haul-bin-")
	if err != nil {
		panic(err)
	}
	haulBin, err = testservers.BuildHaul(dir, "../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func startUp(t *testing.T, dataDir string) *testservers.HaulUp {
	t.Helper()
	addr, err := testservers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	h, err := testservers.StartHaulUp(haulBin, dataDir, addr, 120*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func stopUp(t *testing.T, h *testservers.HaulUp) {
	t.Helper()
	if err := h.Stop(60 * time.Second); err != nil {
		t.Errorf("haul up did not exit cleanly after SIGTERM: %v\n%s", err, h.Output())
	}
}

func clientFor(t *testing.T, dataDir string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses: state ppid ...
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func TestUpKeepsStateAcrossRestartsAndRefusesASecondInstance(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()

	first := startUp(t, dataDir)
	for _, want := range []string{filepath.Join(dataDir, "admin-token"), "kubeconfig", dataDir} {
		if !strings.Contains(first.Output(), want) {
			t.Errorf("haul up output does not mention %q:\n%s", want, first.Output())
		}
	}
	token, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil || len(strings.TrimSpace(string(token))) < 32 {
		t.Errorf("admin-token missing or short: %q, %v", token, err)
	} else if strings.Contains(first.Output(), strings.TrimSpace(string(token))) {
		t.Errorf("haul up printed the admin token without --print-login-url:\n%s", first.Output())
	}
	kids := children(first.Cmd.Process.Pid)
	if len(kids) < 2 {
		t.Fatalf("expected etcd and kube-apiserver as children of haul up, found %v", kids)
	}
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": "haul_promotions{phase=\"Running\"}",
	} {
		body := httpGet(t, "http://"+first.Addr+path)
		if !strings.Contains(body, want) {
			t.Errorf("GET %s does not contain %q:\n%.500s", path, want, body)
		}
	}

	c := clientFor(t, dataDir)
	if err := c.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}); err != nil {
		t.Fatalf("creating a Project: %v", err)
	}

	// A second instance on the same data dir must fail at once, with a clear message.
	start := time.Now()
	addr, _ := testservers.FreeAddr()
	out, err := exec.Command(haulBin, "up", "--data-dir", dataDir, "--addr", addr).CombinedOutput()
	if err == nil {
		t.Fatalf("second haul up on the same data dir succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "already in use") || time.Since(start) > 10*time.Second {
		t.Errorf("second haul up: want a prompt 'already in use' error, got after %s:\n%s", time.Since(start), out)
	}

	stopUp(t, first)
	for _, pid := range kids {
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("child process %d still running after haul up stopped", pid)
		}
	}

	second := startUp(t, dataDir)
	defer stopUp(t, second)
	c = clientFor(t, dataDir)
	p := &haulv1.Project{}
	if err := c.Get(ctx, client.ObjectKey{Name: "kept"}, p); err != nil {
		t.Fatalf("Project created before the restart is gone: %v", err)
	}
}

func TestUpKilledLeavesNoOrphans(t *testing.T) {
	dataDir := t.TempDir()
	h := startUp(t, dataDir)
	kids := children(h.Cmd.Process.Pid)
	if len(kids) < 2 {
		t.Fatalf("expected etcd and kube-apiserver as children, found %v", kids)
	}
	_ = h.Cmd.Process.Signal(syscall.SIGKILL)
	h.Kill()
	for _, pid := range kids {
		deadline := time.Now().Add(15 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("child %d outlived a SIGKILLed haul up", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// The data dir lock dies with the process: a new haul up starts at once.
	again := startUp(t, dataDir)
	stopUp(t, again)
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return string(b)
}

// TestDeletedProjectCanComeBack deletes a Project with objects in it under haul up: its
// namespace must really go away (kube-controller-manager finishes namespace deletion),
// so that a Project of the same name can be created again and becomes Ready.
func TestDeletedProjectCanComeBack(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	up := startUp(t, dataDir)
	defer stopUp(t, up)
	c := clientFor(t, dataDir)

	ready := func(what string) {
		t.Helper()
		waitFor(t, 60*time.Second, what, func() bool {
			p := &haulv1.Project{}
			return c.Get(ctx, client.ObjectKey{Name: "shop"}, p) == nil &&
				meta.IsStatusConditionTrue(p.Status.Conditions, haulv1.ConditionReady)
		})
	}
	if err := c.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	ready("Project shop to become Ready")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "settings"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "namespace shop to be deleted", func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "shop"}, &corev1.Namespace{}))
	})
	if err := c.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	ready("Project shop, created again, to become Ready")
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the old namespace's ConfigMap survived its deletion: %v", err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Package up_test drives the built `haul up` binary as a user would: start, write,
// stop, restart on the same data dir, and check nothing is left running.
package up_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
)

var haulBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "haul-bin-")
	if err != nil {
		panic(err)
	}
	haulBin = filepath.Join(dir, "haul")
	out, err := exec.Command("go", "build", "-o", haulBin, "../../cmd/haul").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building haul: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type upProcess struct {
	cmd    *exec.Cmd
	output *strings.Builder
	ready  chan struct{}
	done   chan error
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startUp runs `haul up` and waits until it prints that it is up.
func startUp(t *testing.T, dataDir string) *upProcess {
	t.Helper()
	cmd := exec.Command(haulBin, "up", "--data-dir", dataDir, "--addr", freeAddr(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	p := &upProcess{cmd: cmd, output: &strings.Builder{}, ready: make(chan struct{}), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			p.output.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "Haul is up") {
				signalled = true
				close(p.ready)
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case <-p.ready:
	case err := <-p.done:
		t.Fatalf("haul up exited early (%v):\n%s", err, p.output)
	case <-time.After(120 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("haul up not up after 120s:\n%s", p.output)
	}
	return p
}

func (p *upProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("haul up exited with %v after SIGTERM:\n%s", err, p.output)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("haul up did not stop within 60s of SIGTERM")
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
	for _, want := range []string{"?token=", "kubeconfig", dataDir} {
		if !strings.Contains(first.output.String(), want) {
			t.Errorf("haul up output does not mention %q:\n%s", want, first.output)
		}
	}
	token, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil || len(strings.TrimSpace(string(token))) < 32 {
		t.Errorf("admin-token missing or short: %q, %v", token, err)
	}
	kids := children(first.cmd.Process.Pid)
	if len(kids) < 2 {
		t.Fatalf("expected etcd and kube-apiserver as children of haul up, found %v", kids)
	}

	c := clientFor(t, dataDir)
	if err := c.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}); err != nil {
		t.Fatalf("creating a Project: %v", err)
	}

	// A second instance on the same data dir must fail at once, with a clear message.
	start := time.Now()
	out, err := exec.Command(haulBin, "up", "--data-dir", dataDir, "--addr", freeAddr(t)).CombinedOutput()
	if err == nil {
		t.Fatalf("second haul up on the same data dir succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "already in use") || time.Since(start) > 10*time.Second {
		t.Errorf("second haul up: want a prompt 'already in use' error, got after %s:\n%s", time.Since(start), out)
	}

	first.stop(t)
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
	defer second.stop(t)
	c = clientFor(t, dataDir)
	p := &haulv1.Project{}
	if err := c.Get(ctx, client.ObjectKey{Name: "kept"}, p); err != nil {
		t.Fatalf("Project created before the restart is gone: %v", err)
	}
}

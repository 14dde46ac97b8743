package testservers

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildHaul builds the haul binary into dir, or returns $HAUL_BIN when it is set (CI
// builds it once with the dashboard embedded).
func BuildHaul(dir, moduleRoot string) (string, error) {
	if bin := os.Getenv("HAUL_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "haul")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/haul")
	cmd.Dir = moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building haul: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// HaulUp is a running `haul up` process.
type HaulUp struct {
	Cmd     *exec.Cmd
	DataDir string
	Addr    string
	mu      sync.Mutex
	output  strings.Builder
	done    chan error
}

// Output returns everything the process printed so far.
func (h *HaulUp) Output() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.output.String()
}

// Kubeconfig is the kubeconfig haul up wrote.
func (h *HaulUp) Kubeconfig() string { return filepath.Join(h.DataDir, "kubeconfig") }

// Token is the admin token of this run.
func (h *HaulUp) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(h.DataDir, "admin-token"))
	return strings.TrimSpace(string(b)), err
}

// StartHaulUp runs `bin up --data-dir dataDir --addr addr extra...` and waits until it
// says it is up (and, with --demo, until the demo is printed).
func StartHaulUp(bin, dataDir, addr string, timeout time.Duration, extra ...string) (*HaulUp, error) {
	args := append([]string{"up", "--data-dir", dataDir, "--addr", addr}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	h := &HaulUp{Cmd: cmd, DataDir: dataDir, Addr: addr, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The last line of the ready banner: every line above it (dashboard URL, kubeconfig)
	// is in Output() by the time StartHaulUp returns.
	readyLine := "Press Ctrl-C to stop"
	for _, a := range extra {
		if a == "--demo" {
			readyLine = "Release a version"
		}
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			h.mu.Lock()
			h.output.WriteString(sc.Text() + "\n")
			h.mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), readyLine) {
				signalled = true
				close(ready)
			}
		}
		h.done <- cmd.Wait()
	}()
	select {
	case <-ready:
		return h, nil
	case err := <-h.done:
		h.done <- err
		return nil, fmt.Errorf("haul up exited early (%w):\n%s", err, h.Output())
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("haul up not ready after %s:\n%s", timeout, h.Output())
	}
}

// Stop sends SIGTERM and waits for the process to exit.
func (h *HaulUp) Stop(timeout time.Duration) error {
	_ = h.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.done:
		return err
	case <-time.After(timeout):
		_ = h.Cmd.Process.Kill()
		return errors.New("haul up did not stop after SIGTERM and was killed")
	}
}

// Kill kills the process abruptly, as a crash would, and returns how it exited.
func (h *HaulUp) Kill() error {
	_ = h.Cmd.Process.Kill()
	return <-h.done
}

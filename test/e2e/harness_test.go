//go:build e2e

// Package e2e drives the built haul binary as a user would, against the real local
// servers of `haul up --demo`: registry, Git server, API server, controllers.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/demo"
	"github.com/haul-dev/haul/internal/testservers"
)

var haulBin string

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "haul-e2e-bin-")
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

// session is one `haul up --demo` on a data dir, and ways to look at it.
type session struct {
	t       *testing.T
	dataDir string
	up      *testservers.HaulUp
	c       client.Client
}

func startDemo(t *testing.T, dataDir string) *session {
	t.Helper()
	addr, err := testservers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	up, err := testservers.StartHaulUp(haulBin, dataDir, addr, 3*time.Minute, "--demo", "--min-warehouse-interval", "5s")
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, dataDir: dataDir, up: up}
	t.Cleanup(func() {
		if s.up != nil {
			_ = s.up.Stop(60 * time.Second)
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dataDir, "logs", "haul.log"))
			if len(logs) > 20000 {
				logs = logs[len(logs)-20000:]
			}
			t.Logf("haul up output:\n%s\ntail of haul.log:\n%s", s.up.Output(), logs)
		}
	})
	cfg, err := clientcmd.BuildConfigFromFlags("", up.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	s.c, err = client.New(cfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// haul runs the CLI against this session's cluster and returns stdout.
func (s *session) haul(args ...string) (string, error) {
	cmd := exec.Command(haulBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.up.Kubeconfig(), "XDG_CONFIG_HOME="+s.dataDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("haul %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func (s *session) eventually(timeout time.Duration, what string, f func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := f()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// currentTag is the image tag of the Freight currently in the stage, or "".
func (s *session) currentTag(stage string) (string, *haulv1.Stage) {
	st := &haulv1.Stage{}
	if err := s.c.Get(context.Background(), client.ObjectKey{Namespace: demo.Project, Name: stage}, st); err != nil {
		return "", nil
	}
	if len(st.Status.FreightHistory) == 0 {
		return "", st
	}
	for _, f := range st.Status.FreightHistory[0].Items {
		if len(f.Images) > 0 {
			return f.Images[0].Tag, st
		}
	}
	return "", st
}

// freightByTag finds the demo Freight holding the given guestbook tag.
func (s *session) freightByTag(tag string) *haulv1.Freight {
	var list haulv1.FreightList
	if err := s.c.List(context.Background(), &list, client.InNamespace(demo.Project)); err != nil {
		return nil
	}
	for i := range list.Items {
		for _, img := range list.Items[i].Images {
			if img.Tag == tag {
				return &list.Items[i]
			}
		}
	}
	return nil
}

// waitVerifiedIn waits until the Freight with tag is verified in every given stage.
func (s *session) waitVerifiedIn(timeout time.Duration, tag string, stages ...string) {
	s.t.Helper()
	s.eventually(timeout, fmt.Sprintf("%s verified in %v", tag, stages), func() (bool, string) {
		f := s.freightByTag(tag)
		if f == nil {
			return false, "no Freight for " + tag
		}
		for _, st := range stages {
			if _, ok := f.Status.VerifiedIn[st]; !ok {
				return false, fmt.Sprintf("verifiedIn=%v currentlyIn=%v", keys(f.Status.VerifiedIn), keys(f.Status.CurrentlyIn))
			}
		}
		return true, ""
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// branchFile reads a file from a branch of the demo GitOps repository over HTTP.
func (s *session) branchFile(branch, path string) (string, error) {
	st, err := demo.LoadState(s.dataDir)
	if err != nil {
		return "", err
	}
	dir := s.t.TempDir()
	repo := "http://" + st.GitAddr + "/gitops.git"
	if _, err := testservers.Git(dir, "clone", "--quiet", "--depth", "1", "--branch", branch, repo, "."); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, path))
	return string(b), err
}

// branchLog lists the commit subjects of a branch, newest first.
func (s *session) branchLog(branch string) ([]string, error) {
	st, err := demo.LoadState(s.dataDir)
	if err != nil {
		return nil, err
	}
	dir := s.t.TempDir()
	repo := "http://" + st.GitAddr + "/gitops.git"
	if _, err := testservers.Git(dir, "clone", "--quiet", "--branch", branch, repo, "."); err != nil {
		return nil, err
	}
	out, err := testservers.Git(dir, "log", "--format=%s")
	if err != nil {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

package cli

import (
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestConnectionErrorsAreOneReadableLine(t *testing.T) {
	h := newHarness(t)
	h.kubeconfig = writeKubeconfig(t, &rest.Config{Host: "https://127.0.0.1:1"}, "")
	_, _, err := h.run("-p", "demo", "get", "stages")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the API server at https://127.0.0.1:1: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v", err)
	}

	h = newHarness(t)
	_, _, err = h.run("--context", "nope", "-p", "demo", "get", "stages")
	if err == nil || err.Error() != `context "nope" not found in kubeconfig` {
		t.Fatalf("got %v", err)
	}

	h.kubeconfig = ""
	t.Setenv("KUBECONFIG", t.TempDir()+"/missing")
	t.Setenv("HOME", t.TempDir())
	_, _, err = h.run("-p", "demo", "get", "stages")
	if err == nil || !strings.HasPrefix(err.Error(), "no cluster configured") {
		t.Fatalf("got %v", err)
	}
}

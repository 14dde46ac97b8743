package server

import (
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestDeletedProjectBufferIsFreedAfterGrace(t *testing.T) {
	now := time.Now()
	h := newHub(16, logr.Discard())
	h.now = func() time.Time { return now }
	projectGVK := haulv1.GroupVersion.WithKind("Project")
	stageGVK := haulv1.GroupVersion.WithKind("Stage")
	proj := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}
	stage := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "gone", Name: "test"}}

	h.record("upsert", stageGVK, stage)
	h.flush()
	start, notify := h.head("gone")
	h.record("delete", stageGVK, stage)
	h.record("delete", projectGVK, proj)
	h.flush()
	// Within the grace period a reconnecting client still gets the deletions.
	now = now.Add(deletedProjectGrace / 2)
	h.flush()
	if got, ok := h.after("gone", start); !ok || len(got) != 1 {
		t.Fatalf("within the grace period: %d batches (ok=%v), want the deletion batch", len(got), ok)
	}
	now = now.Add(deletedProjectGrace)
	h.flush()
	h.mu.Lock()
	_, kept := h.streams["gone"]
	h.mu.Unlock()
	if kept {
		t.Fatal("a deleted project's event buffer is still held after the grace period")
	}
	select {
	case <-notify:
	default:
		t.Fatal("clients waiting on the freed buffer were not woken")
	}
	// A project created again under the same name streams again.
	h.record("upsert", projectGVK, proj)
	h.record("upsert", stageGVK, stage)
	h.flush()
	now = now.Add(2 * deletedProjectGrace)
	h.flush()
	if got, ok := h.after("gone", start); !ok || len(got) != 1 {
		t.Fatalf("recreated project: %d batches (ok=%v), want 1 kept", len(got), ok)
	}
}

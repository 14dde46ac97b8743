package stage

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// While one write to a Freight is in flight, the patches of other Stages' passes wait
// and go together in the next write; each pass gets the result of the write its patch
// went in, and nothing any pass recorded is lost.
func TestFreightBatcherFoldsConcurrentPassesIntoOneWrite(t *testing.T) {
	f := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "f"}}
	since := metav1.Now()
	pass := func(stage string) *freightWrite {
		w := &freightWrites{}
		w.setCurrentlyIn(f, stage, &haulv1.CurrentStage{Since: &since})
		if err := w.mergeVerified(f, stage, haulv1.VerifiedStage{VerifiedAt: &since}); err != nil {
			t.Fatal(err)
		}
		return w.byName["f"]
	}

	var b freightBatcher
	var mu sync.Mutex
	var sent [][]string // the Stages of each write, in order
	release := make(chan struct{})
	fail := errors.New("conflict")
	send := func(_ context.Context, key client.ObjectKey, in map[string]any, verified map[string]map[string]any) error {
		if key.Name != "f" || key.Namespace != "p" {
			t.Errorf("patched %s", key)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(in)), slices.Sorted(maps.Keys(verified))) {
			t.Errorf("currentlyIn %v and verifiedIn %v name different Stages", in, verified)
		}
		mu.Lock()
		sent = append(sent, slices.Sorted(maps.Keys(in)))
		n := len(sent)
		mu.Unlock()
		if n == 1 {
			<-release // the first write is slow: the others queue behind it
			return nil
		}
		return fail
	}
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- b.write(ctx, send, pass("s000")) }()
	for waited := 0; ; waited++ {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n == 1 {
			break
		}
		if waited > 500 {
			t.Fatal("the first write never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	stages := []string{"s001", "s002", "s003", "s004", "s005"}
	for i, st := range stages {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.write(ctx, send, pass(st)) }()
	}
	// Let every pass join the waiting batch before the first write ends.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		b.mu.Lock()
		var joined int
		if p := b.pending[client.ObjectKey{Namespace: "p", Name: "f"}]; p != nil {
			joined = len(p.currentlyIn)
		}
		b.mu.Unlock()
		if joined == len(stages) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d passes joined the waiting batch", joined)
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	wg.Wait()
	if len(sent) != 2 || !slices.Equal(sent[1], stages) {
		t.Fatalf("writes %v; want [s000] then all five others in one", sent)
	}
	for i, err := range errs {
		if !errors.Is(err, fail) {
			t.Errorf("pass %s got %v; want the folded write's error", stages[i], err)
		}
	}
	// Uncontended, a write goes at once and nothing is left behind.
	if err := b.write(ctx, func(context.Context, client.ObjectKey, map[string]any, map[string]map[string]any) error { return nil }, pass("s009")); err != nil {
		t.Fatal(err)
	}
	if len(b.pending) != 0 || len(b.inFlight) != 0 {
		t.Fatalf("left pending %d, in flight %d", len(b.pending), len(b.inFlight))
	}
}

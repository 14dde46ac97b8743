package promotion

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// recordingWrites is a persister write function that records the step of every state
// it writes and takes d per write, as the API server does.
type recordingWrites struct {
	mu      sync.Mutex
	written []int
	d       time.Duration
}

func (w *recordingWrites) write(_ context.Context, s promotion.State) error {
	time.Sleep(w.d)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, s.CurrentStep)
	return nil
}

func (w *recordingWrites) steps() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.written...)
}

// TestPersisterFoldsQuickStepsIntoFewWrites: six steps finishing a few milliseconds
// apart cost the first write and then one per gap, always the newest state, instead of
// one write each.
func TestPersisterFoldsQuickStepsIntoFewWrites(t *testing.T) {
	w := &recordingWrites{d: 2 * time.Millisecond}
	p := newPersister(50*time.Millisecond, w.write)
	ctx := context.Background()
	for step := range 6 {
		if err := p.Submit(ctx, promotion.State{CurrentStep: step}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	got := w.steps()
	if len(got) != 2 || got[0] != 0 || got[1] != 5 {
		t.Fatalf("writes = steps %v, want [0 5]: the first state at once, then only the newest", got)
	}
	// Without a gap every state that arrives while nothing is in flight is written.
	w2 := &recordingWrites{d: time.Millisecond}
	p2 := newPersister(0, w2.write)
	for step := range 6 {
		_ = p2.Submit(ctx, promotion.State{CurrentStep: step})
		time.Sleep(5 * time.Millisecond)
	}
	_ = p2.Flush()
	if got := w2.steps(); len(got) != 6 {
		t.Fatalf("with no gap, writes = steps %v, want all six", got)
	}
}

// TestPersisterDrainDoesNotWaitForTheGap: the final status of a finished run goes out
// at once; the progress state waiting for its gap is dropped, not written first.
func TestPersisterDrainDoesNotWaitForTheGap(t *testing.T) {
	w := &recordingWrites{}
	p := newPersister(time.Hour, w.write)
	ctx := context.Background()
	_ = p.Submit(ctx, promotion.State{CurrentStep: 0})
	time.Sleep(10 * time.Millisecond)
	_ = p.Submit(ctx, promotion.State{CurrentStep: 1})
	time.Sleep(10 * time.Millisecond) // the writer is now waiting for the gap
	start := time.Now()
	if err := p.Drain(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Drain took %v: it waited for the gap", took)
	}
	if got := w.steps(); len(got) != 1 || got[0] != 0 {
		t.Fatalf("writes = steps %v, want [0]: the pending state is dropped", got)
	}
}

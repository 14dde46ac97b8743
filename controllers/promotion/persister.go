package promotion

import (
	"context"
	"sync"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// progressGap is the least time between the starts of two progress writes of one
// Promotion. Steps that take a few milliseconds each then share a write: a six-step
// Promotion wrote its status six times, and every write costs the API server (on the
// same cores as the steps) more than a step's own work. A person watching sees no
// difference, and the final status is never held back by it (see Drain).
const progressGap = 100 * time.Millisecond

// persister writes engine state to the Promotion's status in the background, in order,
// always the newest state, so that steps do not wait for the API server. Flush waits
// for the last write. Losing an unwritten state in a crash is the same as crashing just
// before the step's write: the Promotion replays idempotently.
type persister struct {
	write func(ctx context.Context, s promotion.State) error
	// gap is the least time between the starts of two writes (progressGap).
	gap time.Duration

	mu      sync.Mutex
	pending *promotion.State
	running bool
	err     error
	done    chan struct{}
	// last is when the latest write started.
	last time.Time
	// drained is closed by Drain, so that a wait for the gap ends at once.
	drained   chan struct{}
	drainOnce sync.Once
}

func newPersister(gap time.Duration, write func(ctx context.Context, s promotion.State) error) *persister {
	return &persister{write: write, gap: gap, drained: make(chan struct{})}
}

// Submit queues s; it never blocks on the API server. It returns the error of an
// earlier write, which stops the engine.
func (w *persister) Submit(ctx context.Context, s promotion.State) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	c := s.DeepCopy()
	w.pending = &c
	if !w.running {
		w.running = true
		w.done = make(chan struct{})
		go w.loop(context.WithoutCancel(ctx))
	}
	return nil
}

func (w *persister) loop(ctx context.Context) {
	for {
		w.mu.Lock()
		if w.pending == nil || w.err != nil {
			w.running = false
			close(w.done)
			w.mu.Unlock()
			return
		}
		if wait := w.gap - time.Since(w.last); !w.last.IsZero() && wait > 0 {
			// Later states replace the pending one meanwhile; the newest goes out.
			w.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.drained:
				t.Stop()
			}
			continue
		}
		s := w.pending
		w.pending = nil
		w.last = time.Now()
		w.mu.Unlock()
		if err := w.write(ctx, *s); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

// Drain drops a submitted state whose write has not started (the caller is about to
// write a newer status itself), waits for the write in flight and returns the first error.
func (w *persister) Drain() error {
	w.mu.Lock()
	w.pending = nil
	w.mu.Unlock()
	w.drainOnce.Do(func() { close(w.drained) })
	return w.Flush()
}

// Flush waits until every submitted state is written and returns the first error.
func (w *persister) Flush() error {
	w.mu.Lock()
	done, running := w.done, w.running
	w.mu.Unlock()
	if running {
		<-done
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

package promotion

import (
	"context"
	"sync"

	"github.com/haul-dev/haul/promotion"
)

// persister writes engine state to the Promotion's status in the background, in order,
// always the newest state, so that steps do not wait for the API server. Flush waits
// for the last write. Losing an unwritten state in a crash is the same as crashing just
// before the step's write: the Promotion replays idempotently.
type persister struct {
	write func(ctx context.Context, s promotion.State) error

	mu      sync.Mutex
	pending *promotion.State
	running bool
	err     error
	done    chan struct{}
}

func newPersister(write func(ctx context.Context, s promotion.State) error) *persister {
	return &persister{write: write}
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
		s := w.pending
		w.pending = nil
		if s == nil || w.err != nil {
			w.running = false
			close(w.done)
			w.mu.Unlock()
			return
		}
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

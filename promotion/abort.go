package promotion

import (
	"context"
	"errors"
	"fmt"
)

// ErrAborted is the cause of a step context cancelled because the run was aborted
// (context.Cause returns it), so a step can tell an abort from a timeout.
var ErrAborted = errors.New("aborted")

// abortClosed reports whether req.Abort has been closed.
func (req *Request) abortClosed() bool {
	if req.Abort == nil {
		return false
	}
	select {
	case <-req.Abort:
		return true
	default:
		return false
	}
}

// aborted reports whether the run must stop before the next step.
func (req *Request) aborted(ctx context.Context) bool {
	return req.abortClosed() || req.Aborted != nil && req.Aborted(ctx)
}

// stepContext is the context one step runs with: ctx, cancelled with ErrAborted as
// soon as req.Abort is closed. stop must be called when the step returns.
func (req *Request) stepContext(ctx context.Context) (_ context.Context, stop func()) {
	if req.Abort == nil {
		return ctx, func() {}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-req.Abort:
			cancel(ErrAborted)
		case <-done:
		}
	}()
	return sctx, func() {
		close(done)
		cancel(nil)
	}
}

// abortedMessage is the Result message of an aborted run.
func abortedMessage(alias string, running bool) string {
	if running {
		return fmt.Sprintf("Promotion aborted while step %q was running", alias)
	}
	return fmt.Sprintf("Promotion aborted before step %q", alias)
}

package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// freightWrites collects the Freight status changes one Stage pass makes — where the
// Freight is (currentlyIn[stage]) and how it did here (verifiedIn[stage]) — and sends
// them as one JSON merge patch per Freight at the end of the pass. A release moves new
// Freight in (currentlyIn + verifiedIn) and old Freight out (currentlyIn removed +
// longestSoak): two writes per Stage instead of four. Each patch names only this
// Stage's keys, so it cannot clobber what other Stages write.
type freightWrites struct {
	byName map[string]*freightWrite
}

type freightWrite struct {
	freight *haulv1.Freight
	// currentlyIn is the new value of currentlyIn[stage]; nil entry removes it.
	currentlyIn map[string]any
	// verifiedIn holds the fields to merge into verifiedIn[stage].
	verifiedIn map[string]map[string]any
	// verifiedEvent lists the stages whose verification passed, for events once
	// written.
	verifiedEvent []string
}

func (w *freightWrites) entry(f *haulv1.Freight) *freightWrite {
	if w.byName == nil {
		w.byName = map[string]*freightWrite{}
	}
	e := w.byName[f.Name]
	if e == nil {
		e = &freightWrite{freight: f}
		w.byName[f.Name] = e
	}
	return e
}

// setCurrentlyIn sets (or, with v nil, removes) currentlyIn[stage].
func (w *freightWrites) setCurrentlyIn(f *haulv1.Freight, stage string, v *haulv1.CurrentStage) {
	e := w.entry(f)
	if e.currentlyIn == nil {
		e.currentlyIn = map[string]any{}
	}
	if v == nil {
		e.currentlyIn[stage] = nil
		return
	}
	e.currentlyIn[stage] = v
}

// mergeVerified merges v's set fields into verifiedIn[stage].
func (w *freightWrites) mergeVerified(f *haulv1.Freight, stage string, v haulv1.VerifiedStage) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	e := w.entry(f)
	if e.verifiedIn == nil {
		e.verifiedIn = map[string]map[string]any{}
	}
	if e.verifiedIn[stage] == nil {
		e.verifiedIn[stage] = map[string]any{}
	}
	for k, val := range fields {
		e.verifiedIn[stage][k] = val
	}
	if v.VerifiedAt != nil {
		e.verifiedEvent = append(e.verifiedEvent, stage)
	}
	return nil
}

// flush sends what was collected, one patch per Freight in name order, and empties
// the set. A Freight deleted meanwhile is skipped. Every patch is tried; the errors are
// joined. Patches of concurrent passes (other Stages) to the same Freight are folded
// into one write (freightBatcher).
func (r *Reconciler) flushFreight(ctx context.Context, w *freightWrites) error {
	names := make([]string, 0, len(w.byName))
	for n := range w.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		e := w.byName[n]
		if err := r.freightBatch.write(ctx, r.patchFreightStatus, e); err != nil {
			errs = append(errs, fmt.Errorf("recording where freight %s is and how it did: %w", n, err))
			continue
		}
		for _, stage := range e.verifiedEvent {
			r.Recorder.Eventf(e.freight, corev1.EventTypeNormal, haulv1.ReasonVerificationPassed, "Freight verified in stage %s", stage)
		}
	}
	w.byName = nil
	return errors.Join(errs...)
}

// patchFreightStatus sends one JSON merge patch of a Freight's status; a Freight
// deleted meanwhile is not an error.
func (r *Reconciler) patchFreightStatus(ctx context.Context, key client.ObjectKey, currentlyIn map[string]any, verifiedIn map[string]map[string]any) error {
	status := map[string]any{}
	if currentlyIn != nil {
		status["currentlyIn"] = currentlyIn
	}
	if verifiedIn != nil {
		status["verifiedIn"] = verifiedIn
	}
	raw, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	f := &haulv1.Freight{}
	f.Namespace, f.Name = key.Namespace, key.Name
	return client.IgnoreNotFound(r.Status().Patch(ctx, f, client.RawPatch(types.MergePatchType, raw)))
}

// freightBatcher folds the Freight status patches of concurrent Stage passes into one
// write per Freight, as a database's group commit does: while a write to a Freight is
// in flight, the patches other passes make to it wait and then go together, in one
// patch. Uncontended, a patch goes at once. In a fan-out — a thousand Stages each
// recording that they hold one Freight, whose status grows with every entry — this
// turns a thousand writes of an ever larger object into a few dozen. Each pass's
// patch names only its own Stage's keys, so merging them loses nothing; every pass
// whose patch went in a write gets that write's result. The zero value is ready.
type freightBatcher struct {
	mu       sync.Mutex
	pending  map[client.ObjectKey]*freightBatch
	inFlight map[client.ObjectKey]chan struct{}
}

type freightBatch struct {
	currentlyIn map[string]any
	verifiedIn  map[string]map[string]any
	done        chan struct{}
	err         error
}

type freightPatcher func(ctx context.Context, key client.ObjectKey, currentlyIn map[string]any, verifiedIn map[string]map[string]any) error

// write adds e's changes to the Freight's next write and returns once that write is
// done, with its result.
func (b *freightBatcher) write(ctx context.Context, send freightPatcher, e *freightWrite) error {
	key := client.ObjectKeyFromObject(e.freight)
	b.mu.Lock()
	if b.pending == nil {
		b.pending, b.inFlight = map[client.ObjectKey]*freightBatch{}, map[client.ObjectKey]chan struct{}{}
	}
	batch, joined := b.pending[key]
	if !joined {
		batch = &freightBatch{done: make(chan struct{})}
		b.pending[key] = batch
	}
	for stage, v := range e.currentlyIn {
		if batch.currentlyIn == nil {
			batch.currentlyIn = map[string]any{}
		}
		batch.currentlyIn[stage] = v
	}
	for stage, fields := range e.verifiedIn {
		if batch.verifiedIn == nil {
			batch.verifiedIn = map[string]map[string]any{}
		}
		if batch.verifiedIn[stage] == nil {
			batch.verifiedIn[stage] = map[string]any{}
		}
		for k, v := range fields {
			batch.verifiedIn[stage][k] = v
		}
	}
	b.mu.Unlock()
	if joined {
		select {
		case <-batch.done:
			return batch.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// This pass opened the batch: it sends it once the write before it is done, so
	// that whatever joined meanwhile goes along.
	b.mu.Lock()
	for prev := b.inFlight[key]; prev != nil; prev = b.inFlight[key] {
		b.mu.Unlock()
		select {
		case <-prev:
		case <-ctx.Done():
			b.mu.Lock()
			delete(b.pending, key)
			b.mu.Unlock()
			batch.err = ctx.Err()
			close(batch.done)
			return batch.err
		}
		b.mu.Lock()
	}
	delete(b.pending, key)
	b.inFlight[key] = batch.done
	b.mu.Unlock()
	batch.err = send(ctx, key, batch.currentlyIn, batch.verifiedIn)
	b.mu.Lock()
	delete(b.inFlight, key)
	b.mu.Unlock()
	close(batch.done)
	return batch.err
}

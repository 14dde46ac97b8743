package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

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
// joined.
func (r *Reconciler) flushFreight(ctx context.Context, w *freightWrites) error {
	names := make([]string, 0, len(w.byName))
	for n := range w.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		e := w.byName[n]
		status := map[string]any{}
		if e.currentlyIn != nil {
			status["currentlyIn"] = e.currentlyIn
		}
		if e.verifiedIn != nil {
			status["verifiedIn"] = e.verifiedIn
		}
		raw, err := json.Marshal(map[string]any{"status": status})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.Status().Patch(ctx, e.freight.DeepCopy(), client.RawPatch(types.MergePatchType, raw)); client.IgnoreNotFound(err) != nil {
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

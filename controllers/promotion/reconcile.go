package promotion

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// waitRequeue is how soon a waiting Promotion looks again (watches usually wake it sooner).
const waitRequeue = 10 * time.Second

// Reconcile moves one Promotion forward.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	log := ctrl.LoggerFrom(ctx)
	defer func() {
		if rec := recover(); rec != nil {
			log.Error(fmt.Errorf("panic: %v", rec), "Reconcile panicked", "stack", string(debug.Stack()))
			err = r.endWithPanic(ctx, req.NamespacedName, rec)
			res = ctrl.Result{}
		}
	}()
	p := &haulv1.Promotion{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if p.Status.Phase.IsTerminal() {
		return ctrl.Result{}, r.finalize(ctx, p)
	}
	stage := &haulv1.Stage{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Stage}, stage); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, fmt.Sprintf("Stage %q does not exist", p.Spec.Stage))
		}
		return ctrl.Result{}, err
	}
	if skip, err := r.followStageShard(ctx, p, stage); skip || err != nil {
		return ctrl.Result{}, err
	}
	if p.Status.Phase == "" || p.Status.Phase == haulv1.PromotionPending {
		return r.reconcilePending(ctx, p, stage)
	}
	return r.run(ctx, p, stage, nil)
}

// reconcilePending waits for the Stage's lock (lock.go), takes it, and starts the Promotion.
func (r *Reconciler) reconcilePending(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage) (ctrl.Result, error) {
	if _, ok := p.Annotations[haulv1.AnnotationAbort]; ok {
		return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionAborted, r.abortMessage(ctx, p, "aborted before it started"))
	}
	wait := func(msg string, after time.Duration) (ctrl.Result, error) {
		if p.Status.Phase == "" || p.Status.Message != msg {
			if err := r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
				st.Phase, st.Message = haulv1.PromotionPending, msg
			}); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{RequeueAfter: after}, nil
	}
	// Governance (queue.go): a newer Promotion supersedes this one, a paused Stage
	// starts nothing. The approval requirement is checked once this one is next in line.
	if res, done, err := r.governPending(ctx, p, stage, wait); done || err != nil {
		return res, err
	}
	res, held, lease, err := r.awaitLock(ctx, p, func(holder string) (ctrl.Result, error) {
		return wait(fmt.Sprintf("waiting for Promotion %s to finish", holder), waitRequeue)
	})
	if held || err != nil {
		return res, err
	}
	mine := lease != nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity == p.Name
	seq := lockSequence(lease)
	if !mine {
		first, err := r.firstInLine(ctx, p)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !first {
			return wait("waiting for older Promotions of this Stage", waitRequeue)
		}
		if c := meta.FindStatusCondition(stage.Status.Conditions, haulv1.ConditionVerified); c != nil && c.Reason == haulv1.ReasonVerificationRunning {
			return wait("waiting for the Stage's verification to finish", 5*time.Second)
		}
		switch msg, err := r.approvalWait(ctx, p, stage); {
		case err != nil:
			return ctrl.Result{}, err
		case msg != "":
			return wait(msg, waitRequeue)
		}
		msg, after, overridden, err := r.windowWait(ctx, p, stage)
		switch {
		case err != nil:
			return ctrl.Result{}, err
		case msg != "":
			return wait(msg, after)
		}
		if seq, err = r.acquireLock(ctx, stage, p, lease); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
				// Another worker or controller took or changed the lock in between:
				// look again at once with a fresh read.
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return ctrl.Result{}, err
		}
		if overridden != "" {
			r.recordOverride(p, overridden)
		}
	}
	return r.start(ctx, p, stage, seq)
}

// lockHolderState is what became of the Promotion named as a Stage's lock holder.
type lockHolderState int

const (
	holderGone      lockHolderState = iota // deleted: the lock may be taken over
	holderRunning                          // still running: wait for it
	holderFinishing                        // terminal: its worker releases the lock next
)

const (
	// lockRecheck is the fallback wait for a finishing holder; the Stage's update
	// normally wakes the waiting Promotion first.
	lockRecheck = time.Second
	// conflictRetry is how soon a lost race for the Stage is retried.
	conflictRetry = 20 * time.Millisecond
)

// awaitLock looks at the Promotion holding p's Stage. While another one runs, running's
// result is returned; while it finishes, a short requeue (its worker releases the lock
// in a moment and the Lease's update wakes p). held is false when the lock is free, p's
// own, or its holder is gone; lease is then the copy to acquire from (nil if none).
func (r *Reconciler) awaitLock(ctx context.Context, p *haulv1.Promotion, running func(holder string) (ctrl.Result, error)) (res ctrl.Result, held bool, lease *coordinationv1.Lease, err error) {
	name, lease, err := r.lockHolderName(ctx, p)
	if err != nil || name == "" || name == p.Name {
		return ctrl.Result{}, false, lease, err
	}
	holder, err := r.lockHolder(ctx, p.Namespace, name)
	switch {
	case err != nil:
		return ctrl.Result{}, true, nil, err
	case holder == holderFinishing:
		return ctrl.Result{RequeueAfter: lockRecheck}, true, nil, nil
	case holder == holderRunning:
		res, err := running(name)
		return res, true, nil, err
	}
	return ctrl.Result{}, false, lease, nil
}

// lockHolder says what the named holder of a Stage's lock is doing. A terminal holder
// is left to its own worker, which records its result and releases the lock (after a
// crash, the restarted controller finalizes every terminal Promotion it lists);
// finalizing it here as well only doubled the writes of back-to-back Promotions.
func (r *Reconciler) lockHolder(ctx context.Context, ns, name string) (lockHolderState, error) {
	other := &haulv1.Promotion{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, other); err != nil {
		if apierrors.IsNotFound(err) {
			return holderGone, nil
		}
		return holderRunning, err
	}
	if other.Status.Phase.IsTerminal() {
		if finishedBefore(other, r.now().Add(-cacheLagBound)) {
			// Its worker should have released the lock long ago (a lost release):
			// the lock is taken over, as from a holder that no longer exists.
			return holderGone, nil
		}
		return holderFinishing, nil
	}
	return holderRunning, nil
}

// firstInLine says whether p is the oldest unfinished Promotion of its Stage (creation
// time, then name). A Running one always goes first.
func (r *Reconciler) firstInLine(ctx context.Context, p *haulv1.Promotion) (bool, error) {
	var list haulv1.PromotionList
	if err := r.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingFields{indexStage: p.Spec.Stage}); err != nil {
		return false, err
	}
	var queue []haulv1.Promotion
	for _, o := range list.Items {
		if o.Status.Phase.IsTerminal() || o.Name == p.Name {
			continue
		}
		if o.Status.Phase == haulv1.PromotionRunning {
			// The cache may lag behind a Promotion that just finished; ask the API server.
			fresh := &haulv1.Promotion{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(&o), fresh); err == nil && fresh.Status.Phase.IsTerminal() {
				continue
			}
			return false, nil
		}
		queue = append(queue, o)
	}
	queue = append(queue, *p)
	sort.SliceStable(queue, func(i, j int) bool { return promotion.QueueLess(&queue[i], &queue[j]) })
	return queue[0].Name == p.Name, nil
}

// run runs (or resumes) the steps. begin, for a Promotion just started, is the snapshot
// that p.Status holds but the API server does not yet; every status write of this run
// applies it first, so a write that re-reads after a conflict keeps it.
func (r *Reconciler) run(ctx context.Context, p *haulv1.Promotion, stage *haulv1.Stage, begin func(*haulv1.PromotionStatus)) (ctrl.Result, error) {
	started := begin != nil
	if !started {
		begin = func(*haulv1.PromotionStatus) {}
	}
	if !started {
		// A Running Promotion resumed (after a restart): it normally holds the lock still;
		// if it lost it, it waits for the new holder and takes it back.
		res, held, lease, err := r.awaitLock(ctx, p, func(string) (ctrl.Result, error) {
			return ctrl.Result{RequeueAfter: waitRequeue}, nil
		})
		if held || err != nil {
			return res, err
		}
		if lease == nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != p.Name {
			if _, err := r.acquireLock(ctx, stage, p, lease); err != nil {
				if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
					return ctrl.Result{RequeueAfter: conflictRetry}, nil
				}
				return ctrl.Result{}, err
			}
		}
	}
	state, err := promotion.StateFromStatus(&p.Status)
	if err != nil {
		return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, err.Error())
	}
	dir := r.workDir(p)
	replay := false
	if _, err := os.Stat(dir); err != nil {
		// No work dir but progress recorded: the controller restarted mid-Promotion.
		replay = state.CurrentStep > 0 || len(state.Steps) > 0
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return ctrl.Result{}, fmt.Errorf("creating work dir: %w", err)
		}
	}
	freight := haulv1.FreightReference{}
	if p.Status.Freight != nil {
		freight = *p.Status.Freight
	}
	ctx = withProject(ctx, p.Namespace)
	key := client.ObjectKeyFromObject(p)
	pw := newPersister(progressGap, func(ctx context.Context, s promotion.State) error {
		return r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
			begin(st)
			_ = s.ApplyToStatus(st)
			st.Message = progressMessage(s)
		})
	})
	req := promotion.Request{
		Project: key.Namespace, Stage: stage.Name, Promotion: key.Name, Freight: freight,
		Actor: p.Annotations[haulv1.AnnotationCreateActor], Rollback: promotion.IsRollback(p),
		Steps: p.Status.Steps, Vars: p.Status.Vars, WorkDir: dir, State: state, Replay: replay,
		Persist: pw.Submit,
		// Secret values the steps read are masked in every message and saved output.
		Secrets: r.secrets.get(p.UID),
		// The watch delivers an abort within milliseconds; asking the API server before
		// every step would cost a round trip to etcd each time.
		Aborted: func(ctx context.Context) bool {
			cur := &haulv1.Promotion{}
			if err := r.Get(ctx, key, cur); err != nil {
				return false
			}
			_, ok := cur.Annotations[haulv1.AnnotationAbort]
			return ok
		},
	}
	// An abort annotation seen by the watch while a step runs cancels that step.
	abort, untrack := r.trackAbort(key)
	defer untrack()
	req.Abort = abort.ch
	// From here until the flush below the writer owns p.
	if started {
		if err := pw.Submit(ctx, state); err != nil {
			return ctrl.Result{}, err
		}
	}
	res, final := r.Engine.Run(ctx, req)
	// Wait for the background status writes before p is used again. A finished run's
	// last state goes out with the final status below, so an unstarted write of it is dropped.
	flush := pw.Flush
	if res.Err == nil && res.Phase != haulv1.PromotionRunning {
		flush = pw.Drain
	}
	if err := flush(); err != nil && res.Err == nil {
		res.Err = err
	}
	if res.Err != nil {
		if apierrors.IsInvalid(res.Err) || errors.Is(res.Err, errInvalid) {
			return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, "status update rejected: "+res.Err.Error())
		}
		return ctrl.Result{}, res.Err
	}
	if res.Phase == haulv1.PromotionRunning {
		return ctrl.Result{RequeueAfter: res.RequeueAfter}, nil
	}
	if res.Phase == haulv1.PromotionAborted {
		res.Message = r.abortMessage(ctx, p, res.Message)
	}
	if err := r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
		begin(st)
		_ = final.ApplyToStatus(st)
		st.Phase, st.Message, st.FinishedAt = res.Phase, res.Message, &metav1.Time{Time: r.now()}
	}); err != nil {
		if apierrors.IsInvalid(err) {
			return ctrl.Result{}, r.end(ctx, p, haulv1.PromotionErrored, "status update rejected: "+err.Error())
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.finalize(ctx, p)
}

var errInvalid = errors.New("invalid")

func progressMessage(s promotion.State) string {
	if s.CurrentStep < len(s.Steps) {
		m := s.Steps[s.CurrentStep]
		if m.Message != "" {
			return fmt.Sprintf("step %q: %s", m.Alias, m.Message)
		}
		return fmt.Sprintf("running step %q", m.Alias)
	}
	return "finishing"
}

// end moves the Promotion to a terminal phase without running steps, then finalizes.
func (r *Reconciler) end(ctx context.Context, p *haulv1.Promotion, phase haulv1.PromotionPhase, msg string) error {
	msg = r.secrets.mask(p.UID, msg)
	err := r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
		st.Phase, st.Message, st.FinishedAt = phase, msg, &metav1.Time{Time: r.now()}
	})
	if apierrors.IsInvalid(err) {
		// Even the minimal status is refused: drop everything else and record why.
		err = r.patchStatus(ctx, p, func(st *haulv1.PromotionStatus) {
			*st = haulv1.PromotionStatus{Phase: phase, Message: "status update rejected as invalid", FinishedAt: &metav1.Time{Time: r.now()}}
		})
	}
	if err != nil {
		return err
	}
	return r.finalize(ctx, p)
}

// endWithPanic records a recovered panic on the Promotion.
func (r *Reconciler) endWithPanic(ctx context.Context, key client.ObjectKey, rec any) error {
	p := &haulv1.Promotion{}
	if err := r.APIReader.Get(ctx, key, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	if p.Status.Phase.IsTerminal() {
		return nil
	}
	return r.end(ctx, p, haulv1.PromotionErrored, fmt.Sprintf("internal error: %v", rec))
}

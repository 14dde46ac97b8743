package promotion

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// abortSignal stops the steps of one running Promotion: the engine cancels the running
// step's context as soon as ch is closed.
type abortSignal struct {
	ch   chan struct{}
	once sync.Once
}

func (a *abortSignal) fire() { a.once.Do(func() { close(a.ch) }) }

// trackAbort registers a running Promotion so that an abort annotation seen by the
// watch stops its steps at once; untrack must be called when the run returns.
func (r *Reconciler) trackAbort(key types.NamespacedName) (a *abortSignal, untrack func()) {
	a = &abortSignal{ch: make(chan struct{})}
	r.aborts.Store(key, a)
	return a, func() { r.aborts.CompareAndDelete(key, a) }
}

// abortRunning fires the abort signal of the Promotion, when it is running here.
func (r *Reconciler) abortRunning(key types.NamespacedName) {
	if v, ok := r.aborts.Load(key); ok {
		v.(*abortSignal).fire()
	}
}

// abortWatch is a Promotion event handler that enqueues nothing (the For watch does)
// but stops a running Promotion's step the moment its abort annotation appears: a
// reconcile of that Promotion cannot start while the step holds its worker.
func (r *Reconciler) abortWatch() handler.EventHandler {
	check := func(o client.Object) {
		if _, ok := o.GetAnnotations()[haulv1.AnnotationAbort]; ok {
			r.abortRunning(client.ObjectKeyFromObject(o))
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			check(e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			check(e.ObjectNew)
		},
	}
}

// maxAbortValueShown bounds how much of the annotation's value a message repeats.
const maxAbortValueShown = 64

// abortMessage says who or what aborted p: the annotation, the field manager that set
// it (from managedFields, read from the API server) and its value. detail is what the
// engine said about where the run stopped.
func (r *Reconciler) abortMessage(ctx context.Context, p *haulv1.Promotion, detail string) string {
	cur := &haulv1.Promotion{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil {
		cur = p
	}
	msg := "aborted by the " + haulv1.AnnotationAbort + " annotation"
	if who := annotationManager(cur, haulv1.AnnotationAbort); who != "" {
		msg += fmt.Sprintf(" set by %q", who)
	}
	if v := cur.Annotations[haulv1.AnnotationAbort]; v != "" {
		if len(v) > maxAbortValueShown {
			v = v[:maxAbortValueShown] + "..."
		}
		msg += fmt.Sprintf(" (%q)", v)
	}
	if detail != "" {
		msg += ": " + detail
	}
	return msg
}

// annotationManager is the field manager that last set the annotation key on o.
func annotationManager(o client.Object, key string) string {
	field := []byte(`"f:` + key + `"`)
	who := ""
	for _, mf := range o.GetManagedFields() {
		if mf.FieldsV1 != nil && bytes.Contains(mf.FieldsV1.GetRawBytes(), field) {
			who = mf.Manager
		}
	}
	return who
}

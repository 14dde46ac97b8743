package project

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/reconcile"
)

// Finalizer lets the controller remove the project's namespace before the Project goes.
const Finalizer = haulv1.FinalizerProject

// Options configure the Project controller.
type Options struct {
	// AccessRole, when set, is a ClusterRole bound in every project namespace to
	// AccessSubjects (Haul's own service accounts), so that Haul reads Secrets only in
	// project namespaces rather than cluster-wide.
	AccessRole     string
	AccessSubjects []rbacv1.Subject
	// CountUncached counts Stages and Warehouses for status from the API server, not
	// the cache: set when the cache holds only the default shard's (sharded
	// installations), so the counts include every shard's.
	CountUncached bool
}

// AccessBindingName is the RoleBinding that grants Haul access to a project namespace.
const AccessBindingName = "haul-access"

// Reconciler reconciles Projects.
type Reconciler struct {
	client.Client
	// Reader lists the Stages and Warehouses counted in status; the Client when nil
	// (Options.CountUncached sets the API reader).
	Reader   client.Reader
	Recorder record.EventRecorder
	Options  Options
}

// SetupWithManager registers the Project controller. It also watches namespaces and the
// objects counted in Project status, mapping each to the Project of the same name.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	r := &Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorderFor("project-controller"), Options: opts}
	if opts.CountUncached {
		r.Reader = mgr.GetAPIReader()
	}
	byNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		ns := o.GetNamespace()
		if ns == "" {
			ns = o.GetName() // a Namespace maps to the Project of its own name
		}
		return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: ns}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&haulv1.Project{}).
		Watches(&corev1.Namespace{}, byNamespace).
		Watches(&haulv1.Stage{}, byNamespace).
		Watches(&haulv1.Warehouse{}, byNamespace).
		Named("project").
		Complete(r)
}

// Reconcile makes the namespace and roles match the Project, or removes them on
// deletion: get, finalizer, the sub-reconcilers in order, then one status write that
// summarises them into Ready, Reconciling and Stalled (pkg/reconcile).
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	p := &haulv1.Project{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, p)
	}
	if controllerutil.AddFinalizer(p, Finalizer) {
		if err := r.Update(ctx, p); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := p.Status.DeepCopy()
	defer func() {
		out := reconcile.Summary{
			Generation:    p.Generation,
			Err:           retErr,
			ReadyMessage:  fmt.Sprintf("namespace %s and roles are in place", p.Name),
			FailureReason: haulv1.ReasonReconcileError,
		}.Apply(&p.Status.Conditions)
		if out.Observed {
			p.Status.ObservedGeneration = p.Generation
		}
		result, retErr = out.Result, out.Err
		if reflect.DeepEqual(before, &p.Status) {
			return
		}
		if err := r.Status().Update(ctx, p); apierrors.IsConflict(err) {
			result, retErr = ctrl.Result{RequeueAfter: time.Second}, nil
		} else if err != nil {
			result, retErr = ctrl.Result{}, err
		}
	}()
	return ctrl.Result{}, reconcile.Run(ctx, p, r.reconcileNamespace, r.reconcileRoles, r.reconcileStats)
}

// reconcileNamespace creates the project namespace, or adopts one labelled for it.
// A namespace someone else owns stalls the Project; one still terminating waits.
func (r *Reconciler) reconcileNamespace(ctx context.Context, p *haulv1.Project) error {
	ns := &corev1.Namespace{}
	err := r.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
	switch {
	case apierrors.IsNotFound(err):
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   p.Name,
			Labels: map[string]string{haulv1.LabelProject: "true"},
		}}
		if err := r.Create(ctx, ns); err != nil {
			return fmt.Errorf("creating namespace %s: %w", p.Name, err)
		}
		r.Recorder.Eventf(p, corev1.EventTypeNormal, haulv1.ReasonNamespaceCreated, "Created namespace %s", p.Name)
	case err != nil:
		return fmt.Errorf("reading namespace %s: %w", p.Name, err)
	case ns.Labels[haulv1.LabelProject] != "true":
		msg := fmt.Sprintf("namespace %s already exists and is not labelled %s=\"true\"; label it to let this Project adopt it", p.Name, haulv1.LabelProject)
		if c := meta.FindStatusCondition(p.Status.Conditions, haulv1.ConditionReady); c == nil || c.Reason != haulv1.ReasonNamespaceNotOwned {
			r.Recorder.Event(p, corev1.EventTypeWarning, haulv1.ReasonNamespaceNotOwned, msg)
		}
		return reconcile.Stall(haulv1.ReasonNamespaceNotOwned, errors.New(msg))
	case !ns.DeletionTimestamp.IsZero():
		return reconcile.Wait(haulv1.ReasonNamespaceTerminating, 2*time.Second, fmt.Errorf("namespace %s is being deleted", p.Name))
	}
	return nil
}

// reconcileRoles keeps the per-project roles and Haul's own access binding in place.
func (r *Reconciler) reconcileRoles(ctx context.Context, p *haulv1.Project) error {
	for name, rules := range RoleRules() {
		if err := r.ensureRole(ctx, p.Name, name, rules); err != nil {
			return err
		}
	}
	return r.ensureAccessBinding(ctx, p.Name)
}

func (r *Reconciler) ensureRole(ctx context.Context, ns, name string, rules []rbacv1.PolicyRule) error {
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, role, func() error {
		if role.Labels == nil {
			role.Labels = map[string]string{}
		}
		role.Labels["app.kubernetes.io/managed-by"] = "haul"
		role.Rules = rules
		return nil
	})
	if err != nil {
		return fmt.Errorf("ensuring role %s/%s: %w", ns, name, err)
	}
	return nil
}

func (r *Reconciler) ensureAccessBinding(ctx context.Context, ns string) error {
	if r.Options.AccessRole == "" || len(r.Options.AccessSubjects) == 0 {
		return nil
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: AccessBindingName, Namespace: ns}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, rb, func() error {
		if rb.Labels == nil {
			rb.Labels = map[string]string{}
		}
		rb.Labels["app.kubernetes.io/managed-by"] = "haul"
		// roleRef is immutable; it only differs if the chart was reconfigured.
		if rb.CreationTimestamp.IsZero() {
			rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Options.AccessRole}
		}
		rb.Subjects = r.Options.AccessSubjects
		return nil
	})
	if err != nil {
		return fmt.Errorf("ensuring role binding %s/%s: %w", ns, AccessBindingName, err)
	}
	return nil
}

// reconcileStats counts the project's Stages and Warehouses for its status.
func (r *Reconciler) reconcileStats(ctx context.Context, p *haulv1.Project) error {
	var reader client.Reader = r.Client
	if r.Reader != nil {
		reader = r.Reader
	}
	var stages haulv1.StageList
	if err := reader.List(ctx, &stages, client.InNamespace(p.Name)); err != nil {
		return err
	}
	var warehouses haulv1.WarehouseList
	if err := reader.List(ctx, &warehouses, client.InNamespace(p.Name)); err != nil {
		return err
	}
	stats := haulv1.ProjectStats{Stages: int32(len(stages.Items)), Warehouses: int32(len(warehouses.Items))}
	for _, s := range stages.Items {
		switch {
		case s.Status.Health == nil || s.Status.Health.Status == haulv1.HealthNotApplicable:
			stats.StagesWithoutHealthChecks++
		case s.Status.Health.Status == haulv1.HealthHealthy:
			stats.HealthyStages++
		case s.Status.Health.Status == haulv1.HealthUnhealthy:
			stats.UnhealthyStages++
		}
	}
	p.Status.Stats = stats
	return nil
}

func (r *Reconciler) finalize(ctx context.Context, p *haulv1.Project) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p, Finalizer) {
		return ctrl.Result{}, nil
	}
	if p.Annotations[haulv1.AnnotationKeepNamespace] != "true" {
		ns := &corev1.Namespace{}
		err := r.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
		if err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// Only a namespace this project owns is removed; one it was refused stays.
		if err == nil && ns.Labels[haulv1.LabelProject] == "true" && ns.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("deleting namespace %s: %w", p.Name, err)
			}
		}
	}
	controllerutil.RemoveFinalizer(p, Finalizer)
	return ctrl.Result{}, r.Update(ctx, p)
}

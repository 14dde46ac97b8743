package project_test

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env))
}

func startController(t *testing.T) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     env.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := project.SetupWithManager(mgr, project.Options{AccessRole: "haul-project-access", AccessSubjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "haul-controller", Namespace: "haul-system"}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readyCondition(name string) *metav1.Condition {
	p := &haulv1.Project{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, p); err != nil {
		return nil
	}
	return meta.FindStatusCondition(p.Status.Conditions, haulv1.ConditionReady)
}

func TestProjectCreatesNamespaceAndRoles(t *testing.T) {
	startController(t)
	ctx := context.Background()
	p := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "alpha"}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Project alpha Ready", func() bool {
		c := readyCondition("alpha")
		return c != nil && c.Status == metav1.ConditionTrue
	})
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "alpha"}, ns); err != nil {
		t.Fatalf("namespace alpha: %v", err)
	}
	if ns.Labels[haulv1.LabelProject] != "true" {
		t.Errorf("namespace labels = %v, want %s=true", ns.Labels, haulv1.LabelProject)
	}
	for _, name := range []string{project.RoleViewer, project.RoleApprover, project.RolePromoter, project.RoleAdmin} {
		role := &rbacv1.Role{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: name}, role); err != nil {
			t.Errorf("role %s: %v", name, err)
		}
	}
	rb := &rbacv1.RoleBinding{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: project.AccessBindingName}, rb); err != nil {
		t.Errorf("access role binding: %v", err)
	} else if rb.RoleRef.Name != "haul-project-access" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "haul-controller" {
		t.Errorf("access role binding = %+v", rb)
	}
	promoter := &rbacv1.Role{}
	_ = env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: project.RolePromoter}, promoter)
	if !grants(promoter.Rules, "stages", "promote") {
		t.Errorf("haul-promoter does not grant promote on stages: %+v", promoter.Rules)
	}
	approver := &rbacv1.Role{}
	_ = env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: project.RoleApprover}, approver)
	if !grants(approver.Rules, "freights", "approve") || grants(approver.Rules, "stages", "promote") {
		t.Errorf("haul-approver must grant approve on freights and not promote: %+v", approver.Rules)
	}
	admin := &rbacv1.Role{}
	_ = env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: project.RoleAdmin}, admin)
	if grants(admin.Rules, "roles", "escalate") || grants(admin.Rules, "rolebindings", "bind") {
		t.Errorf("haul-admin must not grant escalate or bind: %+v", admin.Rules)
	}
	viewer := &rbacv1.Role{}
	_ = env.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: project.RoleViewer}, viewer)
	if grants(viewer.Rules, "stages", "promote") {
		t.Errorf("haul-viewer must not grant promote")
	}

	// Stats follow the project's contents.
	st := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Name: "test", Namespace: "alpha"}, Spec: haulv1.StageSpec{
		RequestedFreight: []haulv1.FreightRequest{{Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Sources: haulv1.FreightSources{Direct: true}}},
	}}
	if err := env.Client.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	eventually(t, "stats.stages = 1", func() bool {
		got := &haulv1.Project{}
		_ = env.Client.Get(ctx, client.ObjectKey{Name: "alpha"}, got)
		return got.Status.Stats.Stages == 1
	})

	// A Stage without health checks is neither healthy nor unhealthy; an unhealthy one
	// is counted as such (the dashboard colours the project by these).
	st.Status.Health = &haulv1.Health{Status: haulv1.HealthNotApplicable}
	if err := env.Client.Status().Update(ctx, st); err != nil {
		t.Fatal(err)
	}
	bad := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "alpha"}, Spec: st.Spec}
	if err := env.Client.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	bad.Status.Health = &haulv1.Health{Status: haulv1.HealthUnhealthy}
	if err := env.Client.Status().Update(ctx, bad); err != nil {
		t.Fatal(err)
	}
	eventually(t, "health stats", func() bool {
		got := &haulv1.Project{}
		_ = env.Client.Get(ctx, client.ObjectKey{Name: "alpha"}, got)
		s := got.Status.Stats
		return s.Stages == 2 && s.StagesWithoutHealthChecks == 1 && s.UnhealthyStages == 1 && s.HealthyStages == 0
	})
}

func grants(rules []rbacv1.PolicyRule, resource, verb string) bool {
	group := "haul.dev"
	if resource == "roles" || resource == "rolebindings" {
		group = "rbac.authorization.k8s.io"
	}
	for _, r := range rules {
		inGroup := false
		for _, g := range r.APIGroups {
			inGroup = inGroup || g == group || g == "*"
		}
		if !inGroup {
			continue
		}
		for _, res := range r.Resources {
			if res != resource && res != "*" {
				continue
			}
			for _, v := range r.Verbs {
				if v == verb || v == "*" {
					return true
				}
			}
		}
	}
	return false
}

func TestProjectRefusesUnlabelledNamespace(t *testing.T) {
	startController(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "taken"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "taken"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Project taken refused", func() bool {
		c := readyCondition("taken")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == haulv1.ReasonNamespaceNotOwned
	})
	if c := readyCondition("taken"); c == nil || c.Message == "" {
		t.Fatal("refusal has no message")
	}
	// Someone else's namespace cannot be fixed by retrying: the Project is Stalled.
	p := &haulv1.Project{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "taken"}, p); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, haulv1.ConditionStalled); c == nil || c.Status != metav1.ConditionTrue || c.Reason != haulv1.ReasonNamespaceNotOwned {
		t.Errorf("Stalled is %+v; want True/%s", c, haulv1.ReasonNamespaceNotOwned)
	}
	roles := &rbacv1.RoleList{}
	_ = env.Client.List(ctx, roles, client.InNamespace("taken"))
	if len(roles.Items) != 0 {
		t.Errorf("roles were created in a namespace the project does not own: %d", len(roles.Items))
	}
	// Deleting the refused Project leaves the foreign namespace alone.
	if err := env.Client.Delete(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "taken"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Project taken gone", func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Name: "taken"}, &haulv1.Project{}))
	})
	_ = env.Client.Get(ctx, client.ObjectKey{Name: "taken"}, ns)
	if !ns.DeletionTimestamp.IsZero() {
		t.Error("a namespace the project did not own was deleted")
	}

	// Labelling the namespace lets a new Project adopt it.
	ns.Labels = map[string]string{haulv1.LabelProject: "true"}
	if err := env.Client.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "taken"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Project taken adopts labelled namespace", func() bool {
		c := readyCondition("taken")
		return c != nil && c.Status == metav1.ConditionTrue
	})
}

func TestProjectDeletion(t *testing.T) {
	startController(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		keep       bool
		wantDelete bool
	}{
		{name: "removed", keep: false, wantDelete: true},
		{name: "kept", keep: true, wantDelete: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "del-" + tc.name}}
			if tc.keep {
				p.Annotations = map[string]string{haulv1.AnnotationKeepNamespace: "true"}
			}
			if err := env.Client.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			eventually(t, "ready", func() bool {
				c := readyCondition(p.Name)
				return c != nil && c.Status == metav1.ConditionTrue
			})
			if err := env.Client.Delete(ctx, p); err != nil {
				t.Fatal(err)
			}
			eventually(t, "Project gone", func() bool {
				return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Name: p.Name}, &haulv1.Project{}))
			})
			ns := &corev1.Namespace{}
			err := env.Client.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
			// envtest runs no namespace controller: a deleted namespace stays Terminating.
			deleted := apierrors.IsNotFound(err) || (err == nil && !ns.DeletionTimestamp.IsZero())
			if deleted != tc.wantDelete {
				t.Errorf("namespace deleted = %v, want %v", deleted, tc.wantDelete)
			}
		})
	}
}

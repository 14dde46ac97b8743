package stage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// verifiedStage is a Stage whose verification runs the given steps.
func verifiedStage(ns, name string, steps ...haulv1.PromotionStep) *haulv1.Stage {
	s := newStage(ns, name)
	s.Spec.Verification = &haulv1.Verification{Steps: steps}
	return s
}

func latestRun(s *haulv1.Stage) *haulv1.VerificationResult {
	if len(s.Status.FreightHistory) == 0 || len(s.Status.FreightHistory[0].VerificationHistory) == 0 {
		return nil
	}
	return &s.Status.FreightHistory[0].VerificationHistory[0]
}

func waitRun(t *testing.T, ns, name string, phase haulv1.VerificationPhase, runs int) *haulv1.VerificationResult {
	t.Helper()
	var got *haulv1.VerificationResult
	eventually(t, fmt.Sprintf("verification of %s to be %s", name, phase), func() (bool, string) {
		s := getStage(t, ns, name)
		got = latestRun(s)
		if got == nil {
			return false, "no run; " + condition(s, haulv1.ConditionVerified)
		}
		n := len(s.Status.FreightHistory[0].VerificationHistory)
		return got.Phase == phase && n == runs, fmt.Sprintf("%d runs, latest %s: %s", n, got.Phase, got.Message)
	})
	return got
}

var jobStep = haulv1.PromotionStep{Uses: "job", As: "smoke", Config: rawJSON(map[string]any{
	"template": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "smoke", "image": "registry.example/smoke:1"}},
	}}},
})}

// jobOf waits for the Job of the Stage's latest verification run to exist.
func jobOf(t *testing.T, ns, stageName string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	eventually(t, "the verification Job", func() (bool, string) {
		run := latestRun(getStage(t, ns, stageName))
		if run == nil {
			return false, "no verification run"
		}
		var list batchv1.JobList
		must(t, env.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelStage: stageName}))
		for i := range list.Items {
			if strings.HasPrefix(list.Items[i].Name, "verify-"+run.ID) {
				job = &list.Items[i]
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d jobs, none for run %s", len(list.Items), run.ID)
	})
	return job
}

// finishJob is a test double for the Job controller (there is no kubelet or
// kube-controller-manager here): it writes the status Kubernetes would write.
func finishJob(t *testing.T, job *batchv1.Job, succeeded bool) {
	t.Helper()
	now := metav1.Now()
	job.Status.StartTime = &now
	if succeeded {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
	}
	must(t, env.Client.Status().Update(ctx, job))
}

func annotateStage(t *testing.T, ns, name, key, value string) {
	t.Helper()
	s := getStage(t, ns, name)
	patch := client.MergeFrom(s.DeepCopy())
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[key] = value
	must(t, env.Client.Patch(ctx, s, patch))
}

func TestVerificationJobPassesAndFails_WithJobControllerTestDouble(t *testing.T) {
	startManager(t)
	ns := project(t, "verify-job", true)
	must(t, env.Client.Create(ctx, verifiedStage(ns, "test", jobStep)))
	must(t, env.Client.Create(ctx, newStage(ns, "uat", "test")))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f)

	waitRun(t, ns, "test", "Running", 1)
	if got := condition(getStage(t, ns, "test"), haulv1.ConditionVerified); !strings.HasPrefix(got, "Unknown/"+haulv1.ReasonVerificationRunning) {
		t.Errorf("Verified = %s while the Job runs, want Unknown/VerificationRunning", got)
	}
	finishJob(t, jobOf(t, ns, "test"), true)
	run := waitRun(t, ns, "test", "Succeeded", 1)
	if len(run.Steps) != 1 || run.Steps[0].Status != haulv1.StepSucceeded {
		t.Errorf("run steps = %+v, want the smoke step Succeeded", run.Steps)
	}
	eventually(t, "Freight verified in test", func() (bool, string) {
		v, ok := getFreight(t, ns, f.Name).Status.VerifiedIn["test"]
		return ok && v.VerifiedAt != nil, fmt.Sprintf("%+v", getFreight(t, ns, f.Name).Status.VerifiedIn)
	})
	waitCurrent(t, ns, "uat", f)

	// The next Freight's Job fails: it is recorded and goes no further.
	g := newFreight(t, ns, "two")
	waitCurrent(t, ns, "test", g)
	finishJob(t, jobOf(t, ns, "test"), false)
	run = waitRun(t, ns, "test", "Failed", 1)
	if !strings.Contains(run.Message, "backoff limit") {
		t.Errorf("failure message %q does not say why", run.Message)
	}
	s := getStage(t, ns, "test")
	if got := condition(s, haulv1.ConditionVerified); !strings.HasPrefix(got, "False/"+haulv1.ReasonVerificationFailed) {
		t.Errorf("Verified = %s, want False/VerificationFailed", got)
	}
	if _, ok := getFreight(t, ns, g.Name).Status.VerifiedIn["test"]; ok {
		t.Error("Freight that failed verification was marked verified")
	}
	settle(t, ns, "uat")
	if cur := current(getStage(t, ns, "uat")); cur != f.Name {
		t.Errorf("uat moved to %s although verification in test failed", cur)
	}
}

func TestVerificationHTTPRepeatsChecks(t *testing.T) {
	startManager(t)
	var calls, healthy atomic.Int64
	healthy.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		if healthy.Load() == 1 {
			fmt.Fprint(w, `{"status":"ok"}`)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":"down"}`)
	}))
	defer srv.Close()
	ns := project(t, "verify-http", true)
	check := haulv1.PromotionStep{Uses: "http", As: "probe", Config: rawJSON(map[string]any{
		"url": srv.URL, "successExpression": "response.body.status == 'ok'",
		"count": 3, "interval": "200ms", "failureLimit": 1,
	})}
	must(t, env.Client.Create(ctx, verifiedStage(ns, "test", check)))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f)
	run := waitRun(t, ns, "test", "Succeeded", 1)
	if n := calls.Load(); n != 3 {
		t.Errorf("the check ran %d times, want count=3", n)
	}
	if !strings.Contains(run.Message, "all steps succeeded") {
		t.Errorf("a passed verification says %q, want it to say all steps succeeded", run.Message)
	}

	// Re-verification runs the checks again; with the service down, more than
	// failureLimit failures fail it.
	healthy.Store(0)
	calls.Store(0)
	annotateStage(t, ns, "test", haulv1.AnnotationReverify, "r1")
	run = waitRun(t, ns, "test", "Failed", 2)
	if n := calls.Load(); n != 2 {
		t.Errorf("the failing check ran %d times, want 2 (failureLimit 1 exceeded)", n)
	}
	if !strings.Contains(run.Message, "2 of 2 checks failed") {
		t.Errorf("failure message %q does not count the failed checks", run.Message)
	}
	if s := getStage(t, ns, "test"); s.Status.LastHandledReverify != "r1" {
		t.Errorf("lastHandledReverify = %q, want r1", s.Status.LastHandledReverify)
	}
}

func TestVerificationAbort(t *testing.T) {
	startManager(t)
	ns := project(t, "verify-abort", true)
	must(t, env.Client.Create(ctx, verifiedStage(ns, "test", jobStep)))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f)
	waitRun(t, ns, "test", "Running", 1)
	jobOf(t, ns, "test")
	annotateStage(t, ns, "test", haulv1.AnnotationAbort, "stop-1")
	run := waitRun(t, ns, "test", "Aborted", 1)
	if !strings.Contains(run.Message, haulv1.AnnotationAbort) {
		t.Errorf("abort message %q does not name the annotation", run.Message)
	}
	s := getStage(t, ns, "test")
	if s.Status.LastHandledAbort != "stop-1" {
		t.Errorf("lastHandledAbort = %q", s.Status.LastHandledAbort)
	}
	if got := condition(s, haulv1.ConditionVerified); !strings.HasPrefix(got, "False/") {
		t.Errorf("Verified = %s after abort, want False", got)
	}
	// Re-verify starts over and can pass.
	annotateStage(t, ns, "test", haulv1.AnnotationReverify, "again")
	waitRun(t, ns, "test", "Running", 2)
	finishJob(t, jobOf(t, ns, "test"), true)
	waitRun(t, ns, "test", "Succeeded", 2)
}

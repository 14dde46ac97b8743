//go:build rollouts

package rollouts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// checkServer is the service a web metric measures: /ok/... answers {"ok": true},
// /fail/... {"ok": false} and anything else {"ok": null} (neither condition holds).
// It records every path it was asked for.
type checkServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newCheckServer(t *testing.T) *checkServer {
	t.Helper()
	cs := &checkServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.paths = append(cs.paths, r.URL.Path)
		cs.mu.Unlock()
		var ok any
		switch {
		case strings.HasPrefix(r.URL.Path, "/ok/"):
			ok = true
		case strings.HasPrefix(r.URL.Path, "/fail/"):
			ok = false
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": ok})
	}))
	t.Cleanup(cs.Close)
	return cs
}

// requests returns the paths asked for so far.
func (cs *checkServer) requests() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), cs.paths...)
}

// webMetric is a web metric named name measuring {{args.base}}/{{args.path}} count
// times, a second apart.
func webMetric(name string, count int) map[string]any {
	m := map[string]any{
		"name":             name,
		"successCondition": "result.ok == true",
		"failureCondition": "result.ok == false",
		"provider": map[string]any{"web": map[string]any{
			"url": "{{args.base}}/{{args.path}}", "jsonPath": "{$}", "timeoutSeconds": int64(5),
		}},
	}
	if count > 1 {
		m["count"], m["interval"] = int64(count), "1s"
	}
	return m
}

// analysisTemplate is an AnalysisTemplate (ns set) or ClusterAnalysisTemplate (ns
// empty) declaring the base and path arguments without values.
func analysisTemplate(ns, name string, metrics ...any) *unstructured.Unstructured {
	kind := "AnalysisTemplate"
	md := map[string]any{"name": name}
	if ns == "" {
		kind = "ClusterAnalysisTemplate"
	} else {
		md["namespace"] = ns
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": md,
		"spec": map[string]any{
			"args":    []any{map[string]any{"name": "base"}, map[string]any{"name": "path"}},
			"metrics": metrics,
		},
	}}
}

// webVerification names the template and gives its arguments: base is the check
// server, path an expression over the Stage and the Freight.
func webVerification(cs *checkServer, kind, template, path string) *haulv1.Verification {
	return &haulv1.Verification{
		AnalysisTemplates: []haulv1.AnalysisTemplateReference{{Name: template, Kind: kind}},
		Args: []haulv1.AnalysisRunArgument{
			{Name: "base", Value: cs.URL},
			{Name: "path", Value: path},
		},
	}
}

// analysisRun reads the AnalysisRun a verification run recorded.
func analysisRun(t *testing.T, ns string, run *haulv1.VerificationResult) *unstructured.Unstructured {
	t.Helper()
	if run.AnalysisRun == "" {
		t.Fatalf("verification %s (%s) recorded no AnalysisRun", run.ID, run.Phase)
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("argoproj.io/v1alpha1")
	u.SetKind("AnalysisRun")
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: run.AnalysisRun}, u))
	return u
}

func verifiedIn(t *testing.T, ns string, f *haulv1.Freight, stageName string) bool {
	t.Helper()
	got := &haulv1.Freight{}
	must(t, env.Client.Get(ctx, clientKey(ns, f.Name), got))
	_, ok := got.Status.VerifiedIn[stageName]
	return ok
}

// assertNotVerified checks the Freight is not verified in the Stage and the Stage's
// Verified condition is False.
func assertNotVerified(t *testing.T, ns, stageName string, f *haulv1.Freight) {
	t.Helper()
	if verifiedIn(t, ns, f, stageName) {
		t.Errorf("Freight %s is marked verified in %s", f.Alias, stageName)
	}
	c := meta.FindStatusCondition(getStage(t, ns, stageName).Status.Conditions, haulv1.ConditionVerified)
	if c == nil || c.Status != "False" {
		t.Errorf("Verified condition = %+v, want False", c)
	}
}

// TestWebMetricAnalysisPasses: the real analysis controller measures a web metric
// whose URL comes from spec.verification.args (one of them an expression over the
// Stage and the Freight's image tag); the verification succeeds and the Freight is
// verified in the Stage.
func TestWebMetricAnalysisPasses(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "web-pass")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("health", 1))))
	must(t, env.Client.Create(ctx, newStage(ns, "test",
		webVerification(cs, "", "smoke", `ok/${{ ctx.stage }}/${{ imageFrom("registry.example/app").Tag }}`))))

	f := promote(t, ns, "test", "1.4.2")
	run := waitRun(t, ns, "test", f, time.Minute)
	if run.Phase != haulv1.VerificationSucceeded {
		t.Fatalf("verification is %s (%s), want Succeeded", run.Phase, run.Message)
	}
	if got := cs.requests(); len(got) != 1 || got[0] != "/ok/test/1.4.2" {
		t.Errorf("the check server was asked for %q, want exactly [/ok/test/1.4.2] (the substituted args)", got)
	}
	ar := analysisRun(t, ns, run)
	if p, _, _ := unstructured.NestedString(ar.Object, "status", "phase"); p != "Successful" {
		t.Errorf("AnalysisRun %s is %q, want Successful", ar.GetName(), p)
	}
	eventually(t, 20*time.Second, "Freight verified in the Stage", func() (bool, string) {
		return verifiedIn(t, ns, f, "test"), "status.verifiedIn has no entry for the Stage"
	})
	c := meta.FindStatusCondition(getStage(t, ns, "test").Status.Conditions, haulv1.ConditionVerified)
	if c == nil || c.Status != "True" {
		t.Errorf("Verified condition = %+v, want True", c)
	}
}

// TestWebMetricAnalysisFails: a web metric whose failure condition holds fails the
// verification with a message naming the metric; the Freight is not verified.
func TestWebMetricAnalysisFails(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "web-fail")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("error-rate", 1))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "smoke", "fail/${{ ctx.stage }}"))))

	f := promote(t, ns, "test", "2")
	run := waitRun(t, ns, "test", f, time.Minute)
	if run.Phase != haulv1.VerificationFailed {
		t.Fatalf("verification is %s (%s), want Failed", run.Phase, run.Message)
	}
	if !strings.Contains(run.Message, `"error-rate"`) {
		t.Errorf("message %q does not name the failed metric error-rate", run.Message)
	}
	if got := cs.requests(); len(got) != 1 || got[0] != "/fail/test" {
		t.Errorf("the check server was asked for %q, want [/fail/test]", got)
	}
	assertNotVerified(t, ns, "test", f)
}

// TestWebMetricAnalysisInconclusive: a measurement meeting neither the success nor
// the failure condition ends the AnalysisRun Inconclusive; Haul records Inconclusive
// and the Freight is not verified.
func TestWebMetricAnalysisInconclusive(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "web-inconclusive")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("latency", 1))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "smoke", "unknown"))))

	f := promote(t, ns, "test", "3")
	run := waitRun(t, ns, "test", f, time.Minute)
	if run.Phase != haulv1.VerificationInconclusive {
		t.Fatalf("verification is %s (%s), want Inconclusive", run.Phase, run.Message)
	}
	if !strings.Contains(run.Message, "latency") {
		t.Errorf("message %q does not name the inconclusive metric latency", run.Message)
	}
	assertNotVerified(t, ns, "test", f)
	assertVerifiedReason(t, ns, "test", haulv1.ReasonVerificationInconclusive)
}

// TestClusterAnalysisTemplate: a Stage naming a ClusterAnalysisTemplate gets an
// AnalysisRun in its own namespace built from it, measured by the real controller.
func TestClusterAnalysisTemplate(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "cluster-template")
	cs := newCheckServer(t)
	tpl := analysisTemplate("", "haul-test-global-smoke", webMetric("health", 1))
	must(t, env.Client.Create(ctx, tpl))
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tpl) })
	must(t, env.Client.Create(ctx, newStage(ns, "test",
		webVerification(cs, "ClusterAnalysisTemplate", "haul-test-global-smoke", "ok/global"))))

	f := promote(t, ns, "test", "4")
	run := waitRun(t, ns, "test", f, time.Minute)
	if run.Phase != haulv1.VerificationSucceeded {
		t.Fatalf("verification is %s (%s), want Succeeded", run.Phase, run.Message)
	}
	if ar := analysisRun(t, ns, run); ar.GetNamespace() != ns {
		t.Errorf("AnalysisRun in namespace %q, want the Stage's %q", ar.GetNamespace(), ns)
	}
	if got := cs.requests(); len(got) != 1 || got[0] != "/ok/global" {
		t.Errorf("the check server was asked for %q, want [/ok/global]", got)
	}
	eventually(t, 20*time.Second, "Freight verified in the Stage", func() (bool, string) {
		return verifiedIn(t, ns, f, "test"), "status.verifiedIn has no entry for the Stage"
	})
}

// TestAbortTerminatesAnalysisRun: the abort annotation on a Stage whose analysis is
// still measuring stops the AnalysisRun (the controller stops measuring), records the
// verification Aborted and leaves the Freight unverified.
func TestAbortTerminatesAnalysisRun(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "abort")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "soak", webMetric("health", 60))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "soak", "ok/soak"))))

	f := promote(t, ns, "test", "5")
	running := waitAnalysisRunning(t, ns, "test", cs)
	s := getStage(t, ns, "test")
	patch := client.MergeFrom(s.DeepCopy())
	s.Annotations = map[string]string{haulv1.AnnotationAbort: time.Now().UTC().Format(time.RFC3339Nano)}
	must(t, env.Client.Patch(ctx, s, patch))

	run := waitRun(t, ns, "test", f, 30*time.Second)
	if run.Phase != haulv1.VerificationAborted || run.ID != running.ID {
		t.Fatalf("verification %s is %s (%s), want %s Aborted", run.ID, run.Phase, run.Message, running.ID)
	}
	waitTerminated(t, ns, run)
	seen := len(cs.requests())
	time.Sleep(3 * time.Second)
	if after := len(cs.requests()); after != seen {
		t.Errorf("the controller kept measuring after the abort (%d requests, then %d)", seen, after)
	}
	if seen >= 60 {
		t.Errorf("all %d measurements ran; the abort stopped nothing", seen)
	}
	assertNotVerified(t, ns, "test", f)
	assertVerifiedReason(t, ns, "test", haulv1.ReasonVerificationAborted)
}

// TestReverifyCreatesNewAnalysisRun: the reverify annotation after a finished
// verification creates a second AnalysisRun, measured again, and records a second
// result on top of the first.
func TestReverifyCreatesNewAnalysisRun(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "reverify")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("health", 1))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "smoke", "ok/again"))))

	f := promote(t, ns, "test", "6")
	first := waitRun(t, ns, "test", f, time.Minute)
	if first.Phase != haulv1.VerificationSucceeded {
		t.Fatalf("first verification is %s (%s), want Succeeded", first.Phase, first.Message)
	}
	s := getStage(t, ns, "test")
	patch := client.MergeFrom(s.DeepCopy())
	s.Annotations = map[string]string{haulv1.AnnotationReverify: time.Now().UTC().Format(time.RFC3339Nano)}
	must(t, env.Client.Patch(ctx, s, patch))

	var history []haulv1.VerificationResult
	eventually(t, time.Minute, "a second finished verification", func() (bool, string) {
		s := getStage(t, ns, "test")
		history = s.Status.FreightHistory[0].VerificationHistory
		if len(history) < 2 {
			return false, "one verification recorded"
		}
		return history[0].Phase == haulv1.VerificationSucceeded, string(history[0].Phase) + ": " + history[0].Message
	})
	if len(history) != 2 {
		t.Errorf("verification history has %d runs, want 2", len(history))
	}
	second := history[0]
	if second.ID == first.ID || second.AnalysisRun == first.AnalysisRun {
		t.Errorf("re-verification reused run %s / AnalysisRun %s", first.ID, first.AnalysisRun)
	}
	analysisRun(t, ns, &history[1])
	analysisRun(t, ns, &second)
	if got := cs.requests(); len(got) != 2 {
		t.Errorf("the check server was asked %d times (%q), want twice", len(got), got)
	}
}

// TestAnalysisRunMetadataLandsOnAnalysisRun: spec.verification.analysisRunMetadata's
// labels and annotations are on the AnalysisRun, beside Haul's own stage label and
// Freight collection annotation.
func TestAnalysisRunMetadataLandsOnAnalysisRun(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "run-metadata")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("health", 1))))
	v := webVerification(cs, "", "smoke", "ok/meta")
	v.AnalysisRunMetadata = &haulv1.AnalysisRunMetadata{
		Labels:      map[string]string{"team": "payments"},
		Annotations: map[string]string{"example.com/ticket": "OPS-42"},
	}
	must(t, env.Client.Create(ctx, newStage(ns, "test", v)))

	f := promote(t, ns, "test", "7")
	run := waitRun(t, ns, "test", f, time.Minute)
	if run.Phase != haulv1.VerificationSucceeded {
		t.Fatalf("verification is %s (%s), want Succeeded", run.Phase, run.Message)
	}
	ar := analysisRun(t, ns, run)
	if got := ar.GetLabels()["team"]; got != "payments" {
		t.Errorf("AnalysisRun label team = %q, want payments (labels %v)", got, ar.GetLabels())
	}
	if got := ar.GetLabels()[haulv1.LabelStage]; got != "test" {
		t.Errorf("AnalysisRun label %s = %q, want test", haulv1.LabelStage, got)
	}
	if got := ar.GetAnnotations()["example.com/ticket"]; got != "OPS-42" {
		t.Errorf("AnalysisRun annotation example.com/ticket = %q, want OPS-42 (annotations %v)", got, ar.GetAnnotations())
	}
	if got := ar.GetAnnotations()["haul.dev/freight-collection"]; got == "" {
		t.Errorf("AnalysisRun has no haul.dev/freight-collection annotation (annotations %v)", ar.GetAnnotations())
	}
}

// TestUnreachableMetricEndpointErrors: a web metric whose endpoint refuses connections
// ends the AnalysisRun in Error (past consecutiveErrorLimit); Haul records Errored
// with a message naming the metric, and the Freight is not verified.
func TestUnreachableMetricEndpointErrors(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "web-error")
	cs := newCheckServer(t)
	cs.Close() // nothing listens on its address any more
	m := webMetric("availability", 1)
	m["consecutiveErrorLimit"] = int64(0)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", m)))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "smoke", "ok/gone"))))

	f := promote(t, ns, "test", "8")
	run := waitRun(t, ns, "test", f, time.Minute)
	if p, _, _ := unstructured.NestedString(analysisRun(t, ns, run).Object, "status", "phase"); p != "Error" {
		t.Fatalf("AnalysisRun phase %q, want Error (the endpoint is down)", p)
	}
	if run.Phase != haulv1.VerificationErrored {
		t.Errorf("verification is %s (%s), want Errored: the analysis could not measure", run.Phase, run.Message)
	}
	if !strings.Contains(run.Message, "availability") {
		t.Errorf("message %q does not name the metric availability", run.Message)
	}
	assertNotVerified(t, ns, "test", f)
	assertVerifiedReason(t, ns, "test", haulv1.ReasonVerificationErrored)
}

// TestReverifyDuringAnalysisTerminatesSupersededRun: a re-verification requested while
// an AnalysisRun is still measuring supersedes it: the old AnalysisRun is terminated
// (Argo Rollouts stops measuring), recorded Aborted, and a new one runs.
func TestReverifyDuringAnalysisTerminatesSupersededRun(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "reverify-running")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "soak", webMetric("health", 60))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "soak", "ok/soak"))))

	promote(t, ns, "test", "9")
	first := waitAnalysisRunning(t, ns, "test", cs)
	s := getStage(t, ns, "test")
	patch := client.MergeFrom(s.DeepCopy())
	s.Annotations = map[string]string{haulv1.AnnotationReverify: time.Now().UTC().Format(time.RFC3339Nano)}
	must(t, env.Client.Patch(ctx, s, patch))

	eventually(t, 30*time.Second, "a second verification with its own AnalysisRun", func() (bool, string) {
		h := getStage(t, ns, "test").Status.FreightHistory[0].VerificationHistory
		return len(h) == 2 && h[0].AnalysisRun != "" && h[1].Phase == haulv1.VerificationAborted,
			fmt.Sprintf("%d runs recorded", len(h))
	})
	waitTerminated(t, ns, first)
}

// TestPromotionWaitsForRunningAnalysis: a Promotion of newer Freight created while
// the Stage's AnalysisRun still measures waits (Pending, saying why) instead of
// promoting under a running analysis; aborting the verification lets it run.
func TestPromotionWaitsForRunningAnalysis(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "promote-running")
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "soak", webMetric("health", 60))))
	must(t, env.Client.Create(ctx, newStage(ns, "test", webVerification(cs, "", "soak", "ok/soak"))))

	promote(t, ns, "test", "10")
	first := waitAnalysisRunning(t, ns, "test", cs)
	next := promote(t, ns, "test", "11")
	key := clientKey(ns, "test-"+next.Name[28:])
	eventually(t, 20*time.Second, "the new Promotion waiting for the verification", func() (bool, string) {
		p := &haulv1.Promotion{}
		must(t, env.Client.Get(ctx, key, p))
		return p.Status.Phase == haulv1.PromotionPending && strings.Contains(p.Status.Message, "verification"),
			string(p.Status.Phase) + ": " + p.Status.Message
	})
	if h := getStage(t, ns, "test").Status.FreightHistory; len(h) != 1 {
		t.Fatalf("the Stage holds %d freight collections while its analysis runs, want 1", len(h))
	}

	s := getStage(t, ns, "test")
	patch := client.MergeFrom(s.DeepCopy())
	s.Annotations = map[string]string{haulv1.AnnotationAbort: time.Now().UTC().Format(time.RFC3339Nano)}
	must(t, env.Client.Patch(ctx, s, patch))
	waitTerminated(t, ns, first)
	eventually(t, 30*time.Second, "the waiting Promotion to bring its Freight in", func() (bool, string) {
		h := getStage(t, ns, "test").Status.FreightHistory
		return len(h) == 2 && h[0].Items[origin.String()].Name == next.Name, fmt.Sprintf("%d collections", len(h))
	})
}

// waitAnalysisRunning waits until the Stage's latest verification has an AnalysisRun
// that has taken a measurement, and returns that verification.
func waitAnalysisRunning(t *testing.T, ns, stageName string, cs *checkServer) *haulv1.VerificationResult {
	t.Helper()
	var running *haulv1.VerificationResult
	eventually(t, time.Minute, "a running analysis with a measurement taken", func() (bool, string) {
		running = latestRun(getStage(t, ns, stageName))
		if running == nil || running.AnalysisRun == "" {
			return false, "no AnalysisRun yet"
		}
		return len(cs.requests()) > 0, "no measurement yet"
	})
	return running
}

// waitTerminated waits until the verification's AnalysisRun is terminated and its
// controller has finished it.
func waitTerminated(t *testing.T, ns string, run *haulv1.VerificationResult) {
	t.Helper()
	eventually(t, 20*time.Second, "AnalysisRun "+run.AnalysisRun+" terminated by its controller", func() (bool, string) {
		ar := analysisRun(t, ns, run)
		term, _, _ := unstructured.NestedBool(ar.Object, "spec", "terminate")
		p, _, _ := unstructured.NestedString(ar.Object, "status", "phase")
		return term && p != "" && p != "Running" && p != "Pending", fmt.Sprintf("spec.terminate=%t, phase %q", term, p)
	})
}

// assertVerifiedReason checks the reason of the Stage's Verified condition.
func assertVerifiedReason(t *testing.T, ns, stageName, reason string) {
	t.Helper()
	c := meta.FindStatusCondition(getStage(t, ns, stageName).Status.Conditions, haulv1.ConditionVerified)
	if c == nil || c.Reason != reason {
		t.Errorf("Verified condition = %+v, want reason %s", c, reason)
	}
}

// fakePrometheus answers Prometheus' instant-query API (/api/v1/query, GET or POST
// form) with a one-sample vector of value for every query, and records the queries.
// It is a fake: only the response shape the real API documents, no PromQL.
type fakePrometheus struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
}

func newFakePrometheus(t *testing.T, value string) *fakePrometheus {
	t.Helper()
	fp := &fakePrometheus{}
	fp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		fp.mu.Lock()
		fp.queries = append(fp.queries, r.FormValue("query"))
		fp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
			"resultType": "vector",
			"result": []any{map[string]any{
				"metric": map[string]any{"service": "app"},
				"value":  []any{float64(time.Now().Unix()), value},
			}},
		}})
	}))
	t.Cleanup(fp.Close)
	return fp
}

// TestPrometheusMetricAnalysisAgainstFakePrometheus: a prometheus metric whose query
// takes the Stage name from spec.verification.args is sent, substituted, to the
// Prometheus API by the real analysis controller; a vector above the threshold
// passes, one below fails.
func TestPrometheusMetricAnalysisAgainstFakePrometheus(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "prometheus")
	for _, tc := range []struct {
		stage, value string
		want         haulv1.VerificationPhase
	}{
		{"healthy", "0.998", haulv1.VerificationSucceeded},
		{"degraded", "0.42", haulv1.VerificationFailed},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			fp := newFakePrometheus(t, tc.value)
			tpl := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
				"metadata": map[string]any{"name": "success-rate-" + tc.stage, "namespace": ns},
				"spec": map[string]any{
					"args": []any{map[string]any{"name": "address"}, map[string]any{"name": "service"}},
					"metrics": []any{map[string]any{
						"name":             "success-rate",
						"successCondition": "result[0] >= 0.95",
						"failureCondition": "result[0] < 0.95",
						"provider": map[string]any{"prometheus": map[string]any{
							"address": "{{args.address}}",
							"query":   `sum(rate(http_requests_total{service="{{args.service}}",code!~"5.."}[1m]))`,
						}},
					}},
				},
			}}
			must(t, env.Client.Create(ctx, tpl))
			must(t, env.Client.Create(ctx, newStage(ns, tc.stage, &haulv1.Verification{
				AnalysisTemplates: []haulv1.AnalysisTemplateReference{{Name: tpl.GetName()}},
				Args: []haulv1.AnalysisRunArgument{
					{Name: "address", Value: fp.URL},
					{Name: "service", Value: "${{ ctx.stage }}"},
				},
			})))
			f := promote(t, ns, tc.stage, "1")
			run := waitRun(t, ns, tc.stage, f, time.Minute)
			if run.Phase != tc.want {
				t.Fatalf("verification is %s (%s), want %s", run.Phase, run.Message, tc.want)
			}
			fp.mu.Lock()
			queries := append([]string(nil), fp.queries...)
			fp.mu.Unlock()
			want := `sum(rate(http_requests_total{service="` + tc.stage + `",code!~"5.."}[1m]))`
			if len(queries) != 1 || queries[0] != want {
				t.Errorf("Prometheus was asked %q, want exactly [%s]", queries, want)
			}
			if tc.want == haulv1.VerificationSucceeded {
				eventually(t, 20*time.Second, "Freight verified in "+tc.stage, func() (bool, string) {
					return verifiedIn(t, ns, f, tc.stage), "status.verifiedIn has no entry for the Stage"
				})
			} else {
				assertNotVerified(t, ns, tc.stage, f)
			}
		})
	}
}

// TestFailedAnalysisRollsBack: with the project's autoRollback on, an AnalysisRun that
// fails for newer Freight makes Haul promote the Stage back to the Freight the real
// analysis controller verified before, exactly once, and the analysis of that Freight
// then passes again.
func TestFailedAnalysisRollsBack(t *testing.T) {
	startHaul(t)
	ns := env.Namespace(t, "web-rollback")
	cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
	cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "test"}, AutoRollback: &haulv1.AutoRollbackConfig{}}}
	must(t, env.Client.Create(ctx, cfg))
	cs := newCheckServer(t)
	must(t, env.Client.Create(ctx, analysisTemplate(ns, "smoke", webMetric("health", 1))))
	// Tag 2 is the broken release: its check answers {"ok": false}.
	must(t, env.Client.Create(ctx, newStage(ns, "test",
		webVerification(cs, "", "smoke", `${{ imageFrom("registry.example/app").Tag == "2" ? "fail" : "ok" }}/${{ imageFrom("registry.example/app").Tag }}`))))

	good := promote(t, ns, "test", "1")
	if run := waitRun(t, ns, "test", good, time.Minute); run.Phase != haulv1.VerificationSucceeded {
		t.Fatalf("verification of the good release is %s (%s)", run.Phase, run.Message)
	}
	bad := promote(t, ns, "test", "2")
	// The rollback can follow the failed analysis within milliseconds, so the Stage may
	// never be seen holding the broken release: read what happened from its history.
	key := origin.String()
	eventually(t, time.Minute, "the broken release failing and the good one back, verified", func() (bool, string) {
		h := getStage(t, ns, "test").Status.FreightHistory
		if len(h) < 3 {
			return false, fmt.Sprintf("%d freight collections", len(h))
		}
		back, broken := h[0], h[1]
		if back.Items[key].Name != good.Name || broken.Items[key].Name != bad.Name {
			return false, fmt.Sprintf("history %s, %s", back.Items[key].Name, broken.Items[key].Name)
		}
		if len(broken.VerificationHistory) == 0 || broken.VerificationHistory[0].Phase != haulv1.VerificationFailed {
			return false, "the broken release's verification is not Failed"
		}
		if len(back.VerificationHistory) == 0 {
			return false, "no verification after the rollback yet"
		}
		run := back.VerificationHistory[0]
		return run.Phase == haulv1.VerificationSucceeded, fmt.Sprintf("verification after the rollback: %s (%s)", run.Phase, run.Message)
	})
	var list haulv1.PromotionList
	must(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
	var rollbacks []string
	for _, p := range list.Items {
		if promotion.IsRollback(&p) {
			rollbacks = append(rollbacks, p.Name+"→"+p.Spec.Freight)
		}
	}
	if len(rollbacks) != 1 || !strings.HasSuffix(rollbacks[0], "→"+good.Name) {
		t.Errorf("rollback Promotions %v, want exactly one, to %s", rollbacks, good.Alias)
	}
	paths := cs.requests()
	if len(paths) != 3 || paths[0] != "/ok/1" || paths[1] != "/fail/2" || paths[2] != "/ok/1" {
		t.Errorf("the check server was asked for %q, want [/ok/1 /fail/2 /ok/1]", paths)
	}
}

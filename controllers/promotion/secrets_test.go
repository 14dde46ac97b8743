package promotion_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

const leakedPassword = "hunter2-not-a-number"

// createGenericSecret makes the Secret "creds" that expressions may read.
func createGenericSecret(t *testing.T, ns string) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds", Labels: map[string]string{haulv1.LabelCredType: "generic"}},
		StringData: map[string]string{"username": "deploy", "password": leakedPassword},
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// echoServer answers 500 with a body that repeats the request's Authorization header,
// as some servers do in their error pages.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "denied; you sent Authorization: %s", r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretValuesStayOutOfPromotionStatusAndEvents drives each way a Secret value
// used to reach what project viewers read: a failing expression quoting it, a fail
// step's message, compose-output of it, an http step with it in the URL's user info
// against a server echoing the Authorization header, a malformed URL carrying it, a
// Git URL with a literal password, and set-metadata copying it into Freight.
func TestSecretValuesStayOutOfPromotionStatusAndEvents(t *testing.T) {
	ns := env.Namespace(t, "promo-leak")
	startController(t, t.TempDir())
	createGenericSecret(t, ns)
	echo := echoServer(t)
	hostport := strings.TrimPrefix(echo.URL, "http://")
	const gitPassword = "literal-git-pw-77"
	pw := "${{ secret('creds').password }}"

	cases := map[string]struct {
		steps []haulv1.PromotionStep
		phase haulv1.PromotionPhase
		// message must be contained in status.message.
		message string
	}{
		"expr": {
			steps:   []haulv1.PromotionStep{rawStep("compose-output", "n", map[string]any{"n": "${{ int(secret('creds').password) }}"})},
			phase:   haulv1.PromotionErrored,
			message: `config.n: evaluating "int(secret('creds').password)"`,
		},
		"fail": {
			steps:   []haulv1.PromotionStep{rawStep("fail", "stop", map[string]any{"message": "the password is " + pw})},
			phase:   haulv1.PromotionFailed,
			message: `step "stop" failed: the password is ***`,
		},
		"compose": {
			steps: []haulv1.PromotionStep{
				rawStep("compose-output", "out", map[string]any{"pw": pw, "url": "https://deploy:" + pw + "@git.example.com/x.git"}),
				rawStep("compose-output", "check", map[string]any{"same": "${{ outputs.out.pw == secret('creds').password }}"}),
			},
			phase: haulv1.PromotionSucceeded,
		},
		"http": {
			steps: []haulv1.PromotionStep{rawStep("http", "call", map[string]any{
				"url":     "http://deploy:" + pw + "@" + hostport + "/hook",
				"outputs": []any{map[string]any{"name": "body", "fromExpression": "response.body"}},
			})},
			phase:   haulv1.PromotionFailed,
			message: "HTTP 500",
		},
		"badurl": {
			steps:   []haulv1.PromotionStep{rawStep("http", "call", map[string]any{"url": "htp://deploy:" + pw + "@" + hostport + "/hook"})},
			phase:   haulv1.PromotionErrored,
			message: `url "htp://***@` + hostport + `/hook" must be an absolute http or https URL`,
		},
		"giturl": {
			steps: []haulv1.PromotionStep{rawStep("git-clone", "clone", map[string]any{
				"repoURL": "https://deploy:" + gitPassword + "@127.0.0.1:1/repo.git", "checkout": []any{map[string]any{"branch": "main", "path": "src"}},
			})},
			phase: haulv1.PromotionErrored,
		},
		"metadata": {
			steps: []haulv1.PromotionStep{rawStep("set-metadata", "meta", map[string]any{"updates": []any{map[string]any{
				"kind": "Freight", "name": "ffffffffffff1", "values": map[string]any{"token": pw},
			}}})},
			phase:   haulv1.PromotionErrored,
			message: "updates[0].values.token holds a value read from a Secret",
		},
	}
	makeFreight(t, ns, "ffffffffffff1", "1.0.0")
	names := map[string]string{}
	for stage, c := range cases {
		makeStage(t, ns, stage, c.steps)
		names[stage] = promote(t, ns, stage, "ffffffffffff1")
	}
	leaks := []string{leakedPassword, base64.StdEncoding.EncodeToString([]byte("deploy:" + leakedPassword)), gitPassword}
	for stage, c := range cases {
		p := waitTerminal(t, ns, names[stage], 60*time.Second)
		raw, _ := json.Marshal(p.Status)
		// status.steps is the Stage's own spec, as its author wrote it (the literal Git
		// URL is there, as in the Stage); everything Haul wrote must not show it.
		written := p.Status.DeepCopy()
		written.Steps = nil
		wraw, _ := json.Marshal(written)
		if strings.Contains(string(raw), leakedPassword) {
			t.Errorf("%s: Promotion status shows the Secret value:\n%s", stage, raw)
		}
		for _, leak := range leaks {
			if strings.Contains(string(wraw), leak) {
				t.Errorf("%s: Promotion status shows %q:\n%s", stage, leak, wraw)
			}
		}
		if p.Status.Phase != c.phase || !strings.Contains(p.Status.Message, c.message) {
			t.Errorf("%s: %s %q; want %s with a message containing %q", stage, p.Status.Phase, p.Status.Message, c.phase, c.message)
		}
	}

	// The Secret-derived output was masked when saved, but the later step saw it real.
	p := phase(t, ns, names["compose"])
	var outputs map[string]map[string]any
	_ = json.Unmarshal(p.Status.State.Raw, &outputs)
	if outputs["out"]["pw"] != "***" || outputs["out"]["url"] != "https://***@git.example.com/x.git" || outputs["check"]["same"] != true {
		t.Errorf("compose-output state %s; want out.pw and out.url masked and check.same true", p.Status.State.Raw)
	}
	// The echoed Basic credentials in the http step's output were masked too.
	p = phase(t, ns, names["http"])
	if !strings.Contains(string(p.Status.State.Raw), "Authorization: Basic ***") {
		t.Errorf("http step state %s; want the echoed Authorization masked", p.Status.State.Raw)
	}
	// Freight metadata never received the value.
	f := &haulv1.Freight{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ffffffffffff1"}, f); err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(f.Status); strings.Contains(string(raw), leakedPassword) {
		t.Errorf("Freight status shows the password: %s", raw)
	}

	// Every Promotion records an Event when it ends; none of them shows a secret.
	var events corev1.EventList
	eventually(t, 30*time.Second, "an Event for every Promotion", func() bool {
		if err := env.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, e := range events.Items {
			seen[e.InvolvedObject.Name] = true
		}
		for _, n := range names {
			if !seen[n] {
				return false
			}
		}
		return true
	})
	for _, e := range events.Items {
		for _, leak := range leaks {
			if strings.Contains(e.Message, leak) {
				t.Errorf("Event %s/%s shows %q: %s", e.InvolvedObject.Name, e.Reason, leak, e.Message)
			}
		}
	}
}

// TestPromotionResumedAfterRestartRefusesSecretOutputItLost: a Secret-derived output
// is saved masked. A Promotion that resumes after a controller restart (its work dir
// kept) no longer knows the real value, and the step that reads it fails naming it
// instead of using "***"; one whose work dir was lost too replays from the first step
// and computes the value again.
func TestPromotionResumedAfterRestartRefusesSecretOutputItLost(t *testing.T) {
	ns := env.Namespace(t, "promo-lost")
	work := t.TempDir()
	stop := startController(t, work)
	createGenericSecret(t, ns)
	gate := newGate(t)
	// The gate tolerates errors: stopping the controller may cut its request short.
	gateStep := rawStep("http", "gate", map[string]any{"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "200ms"})
	gateStep.Retry = &haulv1.StepRetry{ErrorThreshold: 10}
	steps := []haulv1.PromotionStep{
		rawStep("compose-output", "out", map[string]any{"pw": "${{ secret('creds').password }}"}),
		gateStep,
		rawStep("compose-output", "use", map[string]any{"same": "${{ outputs.out.pw == secret('creds').password }}"}),
	}
	makeStage(t, ns, "resume", steps)
	makeStage(t, ns, "replay", steps)
	makeFreight(t, ns, "ffffffffffff2", "1.0.0")
	resume := promote(t, ns, "resume", "ffffffffffff2")
	replay := promote(t, ns, "replay", "ffffffffffff2")
	for _, n := range []string{resume, replay} {
		eventually(t, 60*time.Second, n+" to wait at the gate", func() bool {
			return phase(t, ns, n).Status.CurrentStep == 1
		})
	}
	stop()
	if err := removeAll(filepath.Join(work, "promotions", ns, replay)); err != nil {
		t.Fatal(err)
	}
	gate.open()
	startController(t, work)

	p := waitTerminal(t, ns, resume, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionErrored || !strings.Contains(p.Status.Message, "outputs.out.pw") ||
		!strings.Contains(p.Status.Message, "lost when the controller restarted") {
		t.Errorf("resumed: %s %q; want Errored naming outputs.out.pw as lost in the restart", p.Status.Phase, p.Status.Message)
	}
	p = waitTerminal(t, ns, replay, 60*time.Second)
	if p.Status.Phase != haulv1.PromotionSucceeded || !strings.Contains(string(p.Status.State.Raw), `"use":{"same":true}`) {
		t.Errorf("replayed: %s %q, state %s; want Succeeded with the value computed again", p.Status.Phase, p.Status.Message, p.Status.State.Raw)
	}
	for _, n := range []string{resume, replay} {
		if raw, _ := json.Marshal(phase(t, ns, n).Status); strings.Contains(string(raw), leakedPassword) {
			t.Errorf("%s: status shows the password: %s", n, raw)
		}
	}
}

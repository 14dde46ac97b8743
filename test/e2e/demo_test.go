//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/demo"
)

// TestDemoJourney is the newcomer's path: `haul up --demo`, watch 1.1.0 reach prod,
// release a new version, watch it flow test → uat → prod by itself; roll prod back by
// hand, which holds auto-promotion there until the newest is promoted again.
func TestDemoJourney(t *testing.T) {
	s := startDemo(t, t.TempDir())
	started := time.Now()

	// The newest initial version reaches prod through test and uat, verified on the way.
	s.waitVerifiedIn(3*time.Minute, "1.1.0", "test", "uat", "prod")
	t.Logf("haul up → 1.1.0 verified in prod: %s", time.Since(started).Round(time.Millisecond))
	for _, stage := range []string{"test", "uat", "prod"} {
		if tag, _ := s.currentTag(stage); tag != "1.1.0" {
			t.Errorf("stage %s holds %q, want 1.1.0", stage, tag)
		}
		m, err := s.branchFile("stage/"+stage, "manifests.yaml")
		if err != nil {
			t.Fatalf("reading stage/%s: %v", stage, err)
		}
		if !strings.Contains(m, "demo/guestbook:1.1.0") {
			t.Errorf("stage/%s manifests do not use guestbook:1.1.0:\n%s", stage, m)
		}
	}

	// A release flows to prod on its own.
	released := time.Now()
	if out, err := s.haul("demo", "release", "--data-dir", s.dataDir); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "1.2.0") {
		t.Fatalf("demo release did not push 1.2.0: %s", out)
	}
	s.waitVerifiedIn(2*time.Minute, "1.2.0", "test", "uat", "prod")
	t.Logf("haul demo release → 1.2.0 verified in prod: %s", time.Since(released).Round(time.Millisecond))
	for _, stage := range []string{"test", "uat", "prod"} {
		m, err := s.branchFile("stage/"+stage, "manifests.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m, "demo/guestbook:1.2.0") {
			t.Errorf("stage/%s does not hold guestbook:1.2.0 after the release", stage)
		}
	}

	// Roll prod back to 1.1.0 by hand: this holds auto-promotion of prod.
	old := s.freightByTag("1.1.0")
	if _, err := s.haul("promote", "-p", demo.Project, "--stage", "prod", "--freight", old.Name, "--wait"); err != nil {
		t.Fatalf("rollback promotion: %v", err)
	}
	// The Stage records a Promotion's outcome from the Promotion (one writer per
	// status), a moment after --wait sees it succeed.
	s.eventually(10*time.Second, "prod to hold 1.1.0 after the rollback", func() (bool, string) {
		tag, _ := s.currentTag("prod")
		return tag == "1.1.0", "prod holds " + tag
	})
	s.eventually(30*time.Second, "an auto-promotion hold on prod", func() (bool, string) {
		_, st := s.currentTag("prod")
		return st != nil && len(st.Status.AutoPromotionHolds) == 1, "holds: " + holdsOf(st)
	})

	// A new release reaches uat but not prod while the hold stands.
	if _, err := s.haul("demo", "release", "1.3.0", "--data-dir", s.dataDir); err != nil {
		t.Fatal(err)
	}
	s.waitVerifiedIn(2*time.Minute, "1.3.0", "test", "uat")
	time.Sleep(5 * time.Second) // give auto-promotion every chance to (wrongly) act
	if tag, _ := s.currentTag("prod"); tag != "1.1.0" {
		t.Fatalf("prod moved to %q despite the hold", tag)
	}
	var promos haulv1.PromotionList
	_ = s.c.List(context.Background(), &promos, client.InNamespace(demo.Project))
	for _, p := range promos.Items {
		if p.Spec.Stage == "prod" && p.Spec.Freight == s.freightByTag("1.3.0").Name {
			t.Fatalf("a Promotion of 1.3.0 to prod was created despite the hold: %s", p.Name)
		}
	}

	// Promoting the newest by hand releases the hold; prod follows releases again.
	newest := s.freightByTag("1.3.0")
	if _, err := s.haul("promote", "-p", demo.Project, "--stage", "prod", "--freight", newest.Name, "--wait"); err != nil {
		t.Fatalf("promoting the newest to prod: %v", err)
	}
	s.eventually(30*time.Second, "the hold on prod released", func() (bool, string) {
		_, st := s.currentTag("prod")
		return st != nil && len(st.Status.AutoPromotionHolds) == 0, "holds: " + holdsOf(st)
	})
	if _, err := s.haul("demo", "release", "--data-dir", s.dataDir); err != nil {
		t.Fatal(err)
	}
	s.waitVerifiedIn(2*time.Minute, "1.4.0", "test", "uat", "prod")
}

func holdsOf(st *haulv1.Stage) string {
	if st == nil {
		return "<no stage>"
	}
	var out []string
	for _, h := range st.Status.AutoPromotionHolds {
		out = append(out, h.Origin.Name+"@"+h.FreightAlias)
	}
	return strings.Join(out, ",")
}

// TestRestartMidPromotion kills haul up while a Promotion stands between git-commit
// and git-push, and checks that after a restart on the same data dir it finishes, the
// release reaches prod, and no stage branch got a duplicate commit.
func TestRestartMidPromotion(t *testing.T) {
	dataDir := t.TempDir()
	s := startDemo(t, dataDir)
	s.waitVerifiedIn(3*time.Minute, "1.1.0", "test", "uat", "prod")

	// Promotions take a fraction of a second, too short to crash inside reliably; a gate
	// step (an http step polling a server of this test) holds test's next one right
	// after its commit, until the gate opens.
	gate := newGate(t)
	insertStepAfter(t, s.c, "test", "commit", haulv1.PromotionStep{
		Uses: "http", As: "gate",
		Config: rawConfig(t, map[string]any{
			"url": gate.URL, "successExpression": "response.status == 200", "pollInterval": "200ms",
		}),
	})
	if _, err := s.haul("demo", "release", "--data-dir", dataDir); err != nil {
		t.Fatal(err)
	}
	s.eventually(60*time.Second, "the Promotion of 1.2.0 to test waiting at the gate", func() (bool, string) {
		var promos haulv1.PromotionList
		_ = s.c.List(context.Background(), &promos, client.InNamespace(demo.Project))
		f := s.freightByTag("1.2.0")
		for _, p := range promos.Items {
			if f == nil || p.Spec.Freight != f.Name || p.Spec.Stage != "test" {
				continue
			}
			st := p.Status
			if st.Phase == haulv1.PromotionRunning && int(st.CurrentStep) < len(st.StepExecutionMetadata) &&
				st.StepExecutionMetadata[st.CurrentStep].Alias == "gate" {
				return true, ""
			}
			return false, fmt.Sprintf("%s: %s step %d", p.Name, st.Phase, st.CurrentStep)
		}
		return false, "no Promotion of 1.2.0 to test yet"
	})
	s.up.Kill()
	s.up = nil
	gate.open()

	s2 := startDemo(t, dataDir)
	s2.waitVerifiedIn(3*time.Minute, "1.2.0", "test", "uat", "prod")
	alias := s2.freightByTag("1.2.0").Alias
	for _, stage := range []string{"test", "uat", "prod"} {
		log, err := s2.branchLog("stage/" + stage)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, subject := range log {
			seen[subject]++
			if seen[subject] > 1 {
				t.Errorf("stage/%s has the commit %q twice: %v", stage, subject, log)
			}
		}
		if want := "promote " + alias + " to " + stage; seen[want] != 1 {
			t.Errorf("stage/%s has %d commits %q, want 1: %v", stage, seen[want], want, log)
		}
	}
}

// gate is an HTTP endpoint that answers 503 until opened, then 200.
type gate struct {
	URL    string
	opened atomic.Bool
}

func newGate(t *testing.T) *gate {
	g := &gate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !g.opened.Load() {
			http.Error(w, "closed", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *gate) open() { g.opened.Store(true) }

// insertStepAfter adds step to the Stage's promotion template after the step aliased after.
func insertStepAfter(t *testing.T, c client.Client, stage, after string, step haulv1.PromotionStep) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		st := &haulv1.Stage{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: demo.Project, Name: stage}, st); err != nil {
			return err
		}
		steps := st.Spec.PromotionTemplate.Spec.Steps
		for i := range steps {
			if steps[i].As == after {
				st.Spec.PromotionTemplate.Spec.Steps = append(steps[:i+1:i+1], append([]haulv1.PromotionStep{step}, steps[i+1:]...)...)
				return c.Update(context.Background(), st)
			}
		}
		return fmt.Errorf("stage %s has no step %q", stage, after)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rawConfig(t *testing.T, cfg map[string]any) *apiextensionsv1.JSON {
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &apiextensionsv1.JSON{Raw: raw}
}

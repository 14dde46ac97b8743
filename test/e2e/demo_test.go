//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

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
	if tag, _ := s.currentTag("prod"); tag != "1.1.0" {
		t.Fatalf("prod holds %q after the rollback, want 1.1.0", tag)
	}
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

// TestRestartMidPromotion kills haul up while Promotions run and checks that, after a
// restart on the same data dir, they finish and no stage branch got a duplicate commit.
func TestRestartMidPromotion(t *testing.T) {
	dataDir := t.TempDir()
	s := startDemo(t, dataDir)
	s.waitVerifiedIn(3*time.Minute, "1.1.0", "test", "uat", "prod")

	if _, err := s.haul("demo", "release", "--data-dir", dataDir); err != nil {
		t.Fatal(err)
	}
	// Wait for a Promotion of 1.2.0 to be Running, then crash.
	s.eventually(60*time.Second, "a running Promotion of 1.2.0", func() (bool, string) {
		var promos haulv1.PromotionList
		_ = s.c.List(context.Background(), &promos, client.InNamespace(demo.Project))
		f := s.freightByTag("1.2.0")
		for _, p := range promos.Items {
			if f != nil && p.Spec.Freight == f.Name && p.Status.Phase == haulv1.PromotionRunning {
				return true, ""
			}
		}
		return false, "no running promotion yet"
	})
	s.up.Kill()
	s.up = nil

	s2 := startDemo(t, dataDir)
	s2.waitVerifiedIn(3*time.Minute, "1.2.0", "test", "uat", "prod")
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
	}
}

package printers

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var clock = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(clock.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

func meta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "demo", CreationTimestamp: ago(age)}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", name, p, got, want)
	}
}

func render(t *testing.T, tb *Table, noHeaders bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tb.Write(&b, noHeaders); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func stages() []haulv1.Stage {
	up := func(names ...string) []haulv1.FreightRequest {
		return []haulv1.FreightRequest{{Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"}, Sources: haulv1.FreightSources{Stages: names}}}
	}
	return []haulv1.Stage{
		{ObjectMeta: meta("test", 72*time.Hour), Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
			Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"}, Sources: haulv1.FreightSources{Direct: true}}}},
			Status: haulv1.StageStatus{FreightSummary: "brave-otter", Health: &haulv1.Health{Status: haulv1.HealthHealthy},
				LastPromotion:        &haulv1.PromotionReference{Name: "test.01", Phase: haulv1.PromotionSucceeded, FinishedAt: agoPtr(3 * time.Minute)},
				AutoPromotionEnabled: true,
				AutoPromotionHolds: []haulv1.AutoPromotionHold{{Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"},
					Freight: "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a", FreightAlias: "brave-otter", Promotion: "test.rollback.3f2a1b0"}},
				PromotionWindowStatus: &haulv1.PromotionWindowStatus{Window: "office-hours", NextClose: &metav1.Time{Time: clock.Add(5 * time.Hour)}},
				Conditions:            []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}}},
		{ObjectMeta: meta("uat", 72*time.Hour), Spec: haulv1.StageSpec{RequestedFreight: up("test"), Paused: true},
			Status: haulv1.StageStatus{FreightSummary: "calm-heron", Health: &haulv1.Health{Status: haulv1.HealthProgressing},
				CurrentPromotion: &haulv1.PromotionReference{Name: "uat.02", PullRequest: &haulv1.PullRequestStatus{
					URL: "https://git.example/acme/deploy/pulls/12", Number: 12, State: haulv1.PullRequestOpen}},
				LastPromotion:         &haulv1.PromotionReference{Name: "uat.01", Phase: haulv1.PromotionFailed, FinishedAt: agoPtr(2 * time.Hour)},
				PromotionWindowStatus: &haulv1.PromotionWindowStatus{Closed: true, Window: "office-hours", NextOpen: &metav1.Time{Time: clock.Add(21 * time.Hour)}}}},
		{ObjectMeta: sharded(meta("production-eu-west", 90*time.Second), "eu"), Spec: haulv1.StageSpec{RequestedFreight: up("uat")}},
	}
}

// sharded labels m for controller shard s.
func sharded(m metav1.ObjectMeta, s string) metav1.ObjectMeta {
	m.Labels = map[string]string{haulv1.LabelShard: s}
	return m
}

func TestStageTable(t *testing.T) {
	golden(t, "stages", render(t, StageTable(stages(), clock, false), false))
	golden(t, "stages-wide", render(t, StageTable(stages(), clock, true), false))
	golden(t, "stages-no-headers", render(t, StageTable(stages(), clock, false), true))
}

func TestFreightTable(t *testing.T) {
	items := []haulv1.Freight{
		{ObjectMeta: meta("3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a", 5*time.Minute), Alias: "brave-otter",
			Origin:  haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"},
			Images:  []haulv1.Image{{RepoURL: "ghcr.io/acme/app", Tag: "1.4.2", Digest: "sha256:abc"}},
			Commits: []haulv1.GitCommit{{RepoURL: "https://git.example/acme/config.git", ID: "0123456789abcdef"}},
			Status: haulv1.FreightStatus{CurrentlyIn: map[string]haulv1.CurrentStage{"uat": {}, "test": {}},
				VerifiedIn: map[string]haulv1.VerifiedStage{"test": {}}, ApprovedFor: map[string]haulv1.ApprovedStage{"uat": {}},
				Approvals: []haulv1.FreightApproval{{Stage: "prod", Identity: "alice"}, {Stage: "prod", Identity: "bob"}, {Stage: "prod", Identity: "alice"}, {Stage: "uat", Identity: "carol"}}}},
		{ObjectMeta: meta("9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", 26*time.Hour),
			Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "charts"},
			Charts: []haulv1.Chart{{RepoURL: "https://charts.example", Name: "podinfo", Version: "6.5.0"}}},
	}
	rules := func(_, stage string) *haulv1.ApprovalRequirement {
		if stage == "prod" {
			return &haulv1.ApprovalRequirement{RequiredApprovals: 3}
		}
		return nil
	}
	golden(t, "freight", render(t, FreightTable(items, clock, false, rules), false))
	// prod requires three approvals and has two (alice twice counts once); uat has no rule.
	golden(t, "freight-wide", render(t, FreightTable(items, clock, true, rules), false))
}

func TestPromotionTable(t *testing.T) {
	state := &apiextensionsv1.JSON{Raw: []byte(`{}`)}
	items := []haulv1.Promotion{
		{ObjectMeta: metav1.ObjectMeta{Name: "uat.01jd0000000000000000000000.3f2a1b0", CreationTimestamp: ago(10 * time.Minute),
			Annotations: map[string]string{haulv1.AnnotationCreateActor: "cli:alice"}, Labels: map[string]string{haulv1.LabelShard: "eu"}},
			Spec: haulv1.PromotionSpec{Stage: "uat", Freight: "3f2a1b0c9d8e"},
			Status: haulv1.PromotionStatus{Phase: haulv1.PromotionRunning, State: state, CurrentStep: 1,
				Freight: &haulv1.FreightReference{Name: "3f2a1b0c9d8e", Alias: "brave-otter"},
				Steps:   []haulv1.PromotionStep{{Uses: "git-clone", As: "clone"}, {Uses: "git-open-pr", As: "open-pr"}, {Uses: "git-wait-for-pr"}},
				StepExecutionMetadata: []haulv1.StepExecutionMetadata{{Alias: "clone", Status: haulv1.StepSucceeded},
					{Alias: "open-pr", Status: haulv1.StepRunning, PullRequest: &haulv1.PullRequestStatus{
						URL: "https://git.example/acme/deploy/pulls/7", Number: 7, State: haulv1.PullRequestOpen}}},
				StartedAt: agoPtr(9 * time.Minute)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "test.01jc0000000000000000000000.9a8b7c6", CreationTimestamp: ago(3 * time.Hour)},
			Spec: haulv1.PromotionSpec{Stage: "test", Freight: "9a8b7c6d5e4f"},
			Status: haulv1.PromotionStatus{Phase: haulv1.PromotionFailed, Message: "step push: remote rejected\nnon-fast-forward",
				Steps:     []haulv1.PromotionStep{{Uses: "git-push"}},
				StartedAt: agoPtr(3 * time.Hour), FinishedAt: agoPtr(3*time.Hour - 42*time.Second)}},
	}
	golden(t, "promotions", render(t, PromotionTable(items, clock, false), false))
	golden(t, "promotions-wide", render(t, PromotionTable(items, clock, true), false))
}

func TestWarehouseAndProjectTables(t *testing.T) {
	whs := []haulv1.Warehouse{{ObjectMeta: meta("app", 49*time.Hour),
		Spec: haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: 5 * time.Minute}, Subscriptions: []haulv1.RepoSubscription{
			{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/acme/app"}}, {Chart: &haulv1.ChartSubscription{RepoURL: "https://charts.example", Name: "podinfo"}}}},
		Status: haulv1.WarehouseStatus{LastFreightID: "3f2a1b0c9d8e7f", DiscoveredArtifacts: &haulv1.DiscoveredArtifacts{DiscoveredAt: agoPtr(45 * time.Second)},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "RateLimited"}}}}}
	golden(t, "warehouses-wide", render(t, WarehouseTable(whs, clock, true), false))
	projects := []haulv1.Project{{ObjectMeta: metav1.ObjectMeta{Name: "demo", CreationTimestamp: ago(400 * 24 * time.Hour)},
		Status: haulv1.ProjectStatus{Stats: haulv1.ProjectStats{Stages: 3, Warehouses: 1, HealthyStages: 2},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}}}}
	golden(t, "projects", render(t, ProjectTable(projects, clock, false), false))
}

func TestPipeline(t *testing.T) {
	st := stages()
	st = append(st, haulv1.Stage{ObjectMeta: meta("prod-us", time.Hour), Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
		Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"}, Sources: haulv1.FreightSources{Stages: []string{"uat", "test"}}}}}})
	var b bytes.Buffer
	if err := Pipeline(&b, []haulv1.Warehouse{{ObjectMeta: meta("app", time.Hour)}}, st); err != nil {
		t.Fatal(err)
	}
	golden(t, "pipeline", b.Bytes())
}

func TestHumanDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 90 * time.Second: "1m30s", 3 * time.Minute: "3m", 42 * time.Minute: "42m",
		2*time.Hour + 5*time.Minute: "2h5m", 10 * time.Hour: "10h", 72 * time.Hour: "3d", 400 * 24 * time.Hour: "1y", -time.Second: "0s",
	}
	for d, want := range cases {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := Ago(metav1.Time{}, clock); got != "-" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

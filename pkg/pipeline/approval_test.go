package pipeline

import (
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func approval(stage, who string, groups ...string) haulv1.FreightApproval {
	return haulv1.FreightApproval{Stage: stage, Identity: who, Groups: groups}
}

func TestCountApprovals(t *testing.T) {
	twoOf := &haulv1.ApprovalRequirement{RequiredApprovals: 2}
	cases := map[string]struct {
		rule      *haulv1.ApprovalRequirement
		approvals []haulv1.FreightApproval
		requester string
		counted   int
		met       bool
		says      string
	}{
		"no rule: one approval is enough": {
			nil, []haulv1.FreightApproval{approval("prod", "alice")}, "", 1, true, "1 of 1 approvals",
		},
		"no approval yet": {
			twoOf, nil, "", 0, false, "0 of 2 approvals",
		},
		"one of two": {
			twoOf, []haulv1.FreightApproval{approval("prod", "alice")}, "", 1, false, "1 of 2 approvals",
		},
		"the same identity twice counts once": {
			twoOf, []haulv1.FreightApproval{approval("prod", "alice"), approval("prod", "alice")}, "", 1, false, "1 of 2 approvals",
		},
		"two distinct identities": {
			twoOf, []haulv1.FreightApproval{approval("prod", "alice"), approval("prod", "bob")}, "", 2, true, "2 of 2 approvals",
		},
		"approvals for another Stage do not count": {
			twoOf, []haulv1.FreightApproval{approval("prod", "alice"), approval("uat", "bob")}, "", 1, false, "1 of 2 approvals",
		},
		"an unset requiredApprovals means one": {
			&haulv1.ApprovalRequirement{}, []haulv1.FreightApproval{approval("prod", "alice")}, "", 1, true, "1 of 1 approvals",
		},
		"allowed groups leave others out": {
			&haulv1.ApprovalRequirement{RequiredApprovals: 2, AllowedGroups: []string{"sre", "qa"}},
			[]haulv1.FreightApproval{approval("prod", "alice", "dev"), approval("prod", "bob", "dev", "qa"), approval("prod", "carol", "sre")},
			"", 2, true, "2 of 2 approvals (not in an allowed group: alice)",
		},
		"forbidSelfApproval leaves the requester out": {
			&haulv1.ApprovalRequirement{RequiredApprovals: 1, ForbidSelfApproval: true},
			[]haulv1.FreightApproval{approval("prod", "alice")}, "alice", 0, false,
			"0 of 1 approvals (the approval of alice, who requested the Promotion, does not count)",
		},
		"forbidSelfApproval counts the others": {
			&haulv1.ApprovalRequirement{RequiredApprovals: 1, ForbidSelfApproval: true},
			[]haulv1.FreightApproval{approval("prod", "alice"), approval("prod", "bob")}, "alice", 1, true,
			"1 of 1 approvals (the approval of alice, who requested the Promotion, does not count)",
		},
		"without forbidSelfApproval the requester counts": {
			&haulv1.ApprovalRequirement{RequiredApprovals: 1}, []haulv1.FreightApproval{approval("prod", "alice")}, "alice", 1, true, "1 of 1 approvals",
		},
		"no requester (auto-promotion) leaves nobody out": {
			&haulv1.ApprovalRequirement{RequiredApprovals: 1, ForbidSelfApproval: true}, []haulv1.FreightApproval{approval("prod", "alice")}, "", 1, true, "1 of 1 approvals",
		},
		"an approval without identity does not count": {
			twoOf, []haulv1.FreightApproval{approval("prod", ""), approval("prod", "bob")}, "", 1, false, "1 of 2 approvals",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := CountApprovals(c.rule, c.approvals, "prod", c.requester)
			if len(got.Counted) != c.counted || got.Met() != c.met || got.String() != c.says {
				t.Fatalf("counted %v (met %v) %q; want %d (met %v) %q", got.Counted, got.Met(), got.String(), c.counted, c.met, c.says)
			}
		})
	}
}

func TestApprovalRuleFor(t *testing.T) {
	own := &haulv1.ApprovalRequirement{RequiredApprovals: 3}
	cfg := &haulv1.ProjectConfig{Spec: haulv1.ProjectConfigSpec{ApprovalPolicies: []haulv1.ApprovalPolicy{
		{StageSelector: haulv1.StageSelector{Name: "regex:("}, ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 9}},
		{StageSelector: haulv1.StageSelector{Name: "glob:prod-*"}, ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 2}},
		{StageSelector: haulv1.StageSelector{}, ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 1}},
	}}}
	withOwn := stage("prod-eu")
	withOwn.Spec.Approval = own
	cases := map[string]struct {
		cfg  *haulv1.ProjectConfig
		s    *haulv1.Stage
		want int32 // 0: no rule
	}{
		"no config, no rule":               {nil, stage("prod-eu"), 0},
		"the Stage's own rule wins":        {cfg, withOwn, 3},
		"the first matching policy":        {cfg, stage("prod-eu"), 2},
		"a later catch-all":                {cfg, stage("test"), 1},
		"an unparsable selector skips":     {cfg, stage("("), 1},
		"no policy selects the Stage":      {&haulv1.ProjectConfig{}, stage("test"), 0},
		"own rule without a ProjectConfig": {nil, withOwn, 3},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := ApprovalRuleFor(c.cfg, c.s)
			switch {
			case c.want == 0 && got != nil:
				t.Fatalf("got rule %+v, want none", got)
			case c.want != 0 && (got == nil || got.RequiredApprovals != c.want):
				t.Fatalf("got rule %+v, want requiredApprovals %d", got, c.want)
			}
		})
	}
}

func TestRecordApproval(t *testing.T) {
	rule := &haulv1.ApprovalRequirement{RequiredApprovals: 2}
	f := freight("f", wh, 0)
	changed, tally := RecordApproval(f, rule, "prod", "alice", []string{"dev"}, now)
	if !changed || tally.Met() || len(f.Status.Approvals) != 1 {
		t.Fatalf("first approval: changed %v, tally %s, approvals %+v", changed, tally, f.Status.Approvals)
	}
	if _, ok := f.Status.ApprovedFor["prod"]; ok {
		t.Fatal("approvedFor set after 1 of 2 approvals")
	}
	if changed, _ := RecordApproval(f, rule, "prod", "alice", nil, now); changed || len(f.Status.Approvals) != 1 {
		t.Fatalf("approving twice changed the status: %+v", f.Status.Approvals)
	}
	changed, tally = RecordApproval(f, rule, "prod", "bob", nil, now)
	if !changed || !tally.Met() {
		t.Fatalf("second approval: changed %v, tally %s", changed, tally)
	}
	a, ok := f.Status.ApprovedFor["prod"]
	if !ok || a.ApprovedBy != "alice, bob" || a.ApprovedAt == nil {
		t.Fatalf("approvedFor = %+v, want prod approved by alice, bob", f.Status.ApprovedFor)
	}
	if g := f.Status.Approvals[0].Groups; len(g) != 1 || g[0] != "dev" {
		t.Fatalf("groups not recorded: %+v", f.Status.Approvals[0])
	}
}

func TestApprovalGate(t *testing.T) {
	s := stage("prod", direct(wh))
	f := freight("f", wh, 0)
	f.Alias = "brave-otter"
	f.Status.Approvals = []haulv1.FreightApproval{approval("prod", "alice")}
	if ok, why := ApprovalGate(f, s, nil, "alice"); !ok || why != "" {
		t.Fatalf("no rule held Freight back: %s", why)
	}
	ok, why := ApprovalGate(f, s, &haulv1.ApprovalRequirement{RequiredApprovals: 3}, "")
	if ok || why != "Freight brave-otter needs approval for Stage prod: 1 of 3 approvals" {
		t.Fatalf("gate = %v %q", ok, why)
	}
}

func TestRequester(t *testing.T) {
	for actor, want := range map[string]string{
		"":                 "",
		"auto-promotion":   "",
		"api:oidc:bob":     "oidc:bob",
		"cli:alice":        "alice",
		"kubectl:carol":    "carol",
		"system:admin":     "system:admin",
		"dave@example.com": "dave@example.com",
	} {
		if got := Requester(actor); got != want {
			t.Errorf("Requester(%q) = %q, want %q", actor, got, want)
		}
	}
}

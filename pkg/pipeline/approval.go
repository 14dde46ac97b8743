package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// ApprovalRuleFor is the approval requirement of Stage s: its own spec.approval, else
// the first of the project's approvalPolicies that selects it, else nil (no
// requirement beyond Kargo's single optional approval). A policy whose selector cannot
// be parsed selects nothing, as promotion policies do.
func ApprovalRuleFor(cfg *haulv1.ProjectConfig, s *haulv1.Stage) *haulv1.ApprovalRequirement {
	if s.Spec.Approval != nil {
		return s.Spec.Approval
	}
	if cfg == nil {
		return nil
	}
	for i := range cfg.Spec.ApprovalPolicies {
		p := &cfg.Spec.ApprovalPolicies[i]
		if ok, _ := SelectorMatches(p.StageSelector, s); ok {
			return &p.ApprovalRequirement
		}
	}
	return nil
}

// Required is how many approvals rule asks for: at least 1 (the API's default).
func Required(rule *haulv1.ApprovalRequirement) int {
	if rule == nil || rule.RequiredApprovals < 1 {
		return 1
	}
	return int(rule.RequiredApprovals)
}

// ApprovalTally is the count of Freight's approvals for one Stage under a rule.
type ApprovalTally struct {
	// Counted are the distinct identities whose approval counts, in approval order.
	Counted []string
	// Required is how many are needed.
	Required int
	// NotAllowed are identities that approved but belong to none of allowedGroups.
	NotAllowed []string
	// Self is the requester when their own approval was left out (forbidSelfApproval).
	Self string
}

// Met says whether enough approvals count.
func (t ApprovalTally) Met() bool { return len(t.Counted) >= t.Required }

// String reads like "1 of 2 approvals", with why others did not count.
func (t ApprovalTally) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d approvals", len(t.Counted), t.Required)
	if t.Self != "" {
		fmt.Fprintf(&b, " (the approval of %s, who requested the Promotion, does not count)", t.Self)
	}
	if len(t.NotAllowed) > 0 {
		fmt.Fprintf(&b, " (not in an allowed group: %s)", strings.Join(t.NotAllowed, ", "))
	}
	return b.String()
}

// CountApprovals counts the approvals of Freight for stage under rule: each identity
// once, only identities in one of rule.allowedGroups when that is set, and not
// requester when rule.forbidSelfApproval is on. requester is the identity that asked
// for the Promotion ("" for none, e.g. auto-promotion: nobody is left out).
func CountApprovals(rule *haulv1.ApprovalRequirement, approvals []haulv1.FreightApproval, stage, requester string) ApprovalTally {
	t := ApprovalTally{Required: Required(rule)}
	seen := map[string]bool{}
	for _, a := range approvals {
		if a.Stage != stage || a.Identity == "" || seen[a.Identity] {
			continue
		}
		seen[a.Identity] = true
		switch {
		case rule != nil && len(rule.AllowedGroups) > 0 && !intersects(rule.AllowedGroups, a.Groups):
			t.NotAllowed = append(t.NotAllowed, a.Identity)
		case rule != nil && rule.ForbidSelfApproval && requester != "" && a.Identity == requester:
			t.Self = a.Identity
		default:
			t.Counted = append(t.Counted, a.Identity)
		}
	}
	return t
}

func intersects(allowed, groups []string) bool {
	for _, g := range groups {
		if slices.Contains(allowed, g) {
			return true
		}
	}
	return false
}

// ApprovalGate says whether Freight f may be promoted to Stage s under rule, asked for
// by requester, and if not why: "Freight may not be promoted to Stage prod: 1 of 2
// approvals". A nil rule never holds Freight back (availability alone decides).
func ApprovalGate(f *haulv1.Freight, s *haulv1.Stage, rule *haulv1.ApprovalRequirement, requester string) (bool, string) {
	if rule == nil {
		return true, ""
	}
	t := CountApprovals(rule, f.Status.Approvals, s.Name, requester)
	if t.Met() {
		return true, ""
	}
	return false, fmt.Sprintf("Freight %s needs approval for Stage %s: %s", orAlias(f), s.Name, t)
}

func orAlias(f *haulv1.Freight) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// RecordApproval adds identity's approval of f for stage to f's status (once per
// identity and Stage: approving again keeps the first record) and sets
// status.approvedFor[stage], which Kargo users read, once rule's requirement is met
// with nobody left out. It reports whether the status changed and the tally after.
func RecordApproval(f *haulv1.Freight, rule *haulv1.ApprovalRequirement, stage, identity string, groups []string, now time.Time) (bool, ApprovalTally) {
	changed := false
	dup := slices.ContainsFunc(f.Status.Approvals, func(a haulv1.FreightApproval) bool {
		return a.Stage == stage && a.Identity == identity
	})
	if !dup {
		at := metav1.NewTime(now.UTC().Truncate(time.Second))
		f.Status.Approvals = append(f.Status.Approvals, haulv1.FreightApproval{
			Stage: stage, Identity: identity, Groups: slices.Clone(groups), ApprovedAt: &at,
		})
		changed = true
	}
	t := CountApprovals(rule, f.Status.Approvals, stage, "")
	if _, ok := f.Status.ApprovedFor[stage]; !ok && t.Met() {
		if f.Status.ApprovedFor == nil {
			f.Status.ApprovedFor = map[string]haulv1.ApprovedStage{}
		}
		at := metav1.NewTime(now.UTC().Truncate(time.Second))
		by := strings.Join(t.Counted, ", ")
		if len(by) > maxApprovedBy {
			by = by[:maxApprovedBy-3] + "..."
		}
		f.Status.ApprovedFor[stage] = haulv1.ApprovedStage{ApprovedAt: &at, ApprovedBy: by}
		changed = true
	}
	return changed, t
}

// maxApprovedBy is the schema's bound on approvedFor[].approvedBy.
const maxApprovedBy = 1024

// Requester is the identity that asked for a Promotion, from its haul.dev/create-actor
// annotation: "api:alice", "cli:alice" and "kubectl:alice" name alice; "auto-promotion"
// and an empty value name nobody (""). Any other value is taken as the identity itself.
func Requester(actor string) string {
	if actor == "" || actor == AutoPromotionActor {
		return ""
	}
	for _, prefix := range RequesterPrefixes {
		if rest, ok := strings.CutPrefix(actor, prefix); ok {
			return rest
		}
	}
	return actor
}

// RequesterPrefixes are the haul.dev/create-actor prefixes that say how a person asked
// for a Promotion; what follows is their identity. The admission policy
// haul-promotion-actor lets a user write only their own identity after one of them.
var RequesterPrefixes = []string{"api:", "cli:", "kubectl:"}

// AutoPromotionActor is the haul.dev/create-actor of automatic Promotions (the same
// value as promotion.AutoPromotionActor; pkg/pipeline does not import the engine).
const AutoPromotionActor = "auto-promotion"

package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// ProjectTable lists Projects: NAME, READY, STAGES, WAREHOUSES, AGE.
func ProjectTable(items []haulv1.Project, now time.Time, wide bool) *Table {
	t := &Table{Headers: []string{"NAME", "READY", "STAGES", "WAREHOUSES", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "HEALTHY STAGES", "MESSAGE")
	}
	for _, p := range items {
		row := []string{p.Name, conditionStatus(p.Status.Conditions, haulv1.ConditionReady),
			fmt.Sprint(p.Status.Stats.Stages), fmt.Sprint(p.Status.Stats.Warehouses), Ago(p.CreationTimestamp, now)}
		if wide {
			row = append(row, fmt.Sprint(p.Status.Stats.HealthyStages),
				Truncate(conditionMessage(p.Status.Conditions, haulv1.ConditionReady), 60))
		}
		t.AddRow(row...)
	}
	return t
}

// ProjectConfigTable lists ProjectConfigs: NAME, POLICIES, AUTO-PROMOTED, AGE.
func ProjectConfigTable(items []haulv1.ProjectConfig, now time.Time, _ bool) *Table {
	t := &Table{Headers: []string{"NAME", "POLICIES", "RECEIVERS", "AGE"}}
	for _, c := range items {
		t.AddRow(c.Name, fmt.Sprint(len(c.Spec.PromotionPolicies)), fmt.Sprint(len(c.Spec.WebhookReceivers)),
			Ago(c.CreationTimestamp, now))
	}
	return t
}

// ClusterConfigTable lists the ClusterConfig: NAME, WINDOWS (how many promotion
// windows, and how many of them Deny), AGE.
func ClusterConfigTable(items []haulv1.ClusterConfig, now time.Time, _ bool) *Table {
	t := &Table{Headers: []string{"NAME", "WINDOWS", "AGE"}}
	for _, c := range items {
		deny := 0
		for _, w := range c.Spec.PromotionWindows {
			if w.Kind == haulv1.PromotionWindowDeny {
				deny++
			}
		}
		t.AddRow(c.Name, fmt.Sprintf("%d (%d deny)", len(c.Spec.PromotionWindows), deny), Ago(c.CreationTimestamp, now))
	}
	return t
}

// WarehouseTable lists Warehouses: NAME, LAST FREIGHT, READY, AGE.
func WarehouseTable(items []haulv1.Warehouse, now time.Time, wide bool) *Table {
	t := &Table{Headers: []string{"NAME", "LAST FREIGHT", "READY", "DISCOVERED", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "INTERVAL", "SUBSCRIPTIONS", "REASON", "SHARD")
	}
	for _, w := range items {
		discovered := "-"
		if w.Status.DiscoveredArtifacts != nil {
			discovered = AgoPtr(w.Status.DiscoveredArtifacts.DiscoveredAt, now)
		}
		row := []string{w.Name, ShortID(w.Status.LastFreightID), conditionStatus(w.Status.Conditions, haulv1.ConditionReady),
			discovered, Ago(w.CreationTimestamp, now)}
		if wide {
			interval := "-"
			if w.Spec.Interval.Duration > 0 {
				interval = w.Spec.Interval.Duration.String()
			}
			row = append(row, interval, subscriptionSummary(w.Spec.Subscriptions),
				conditionReason(w.Status.Conditions, haulv1.ConditionReady), shardOf(w.Labels))
		}
		t.AddRow(row...)
	}
	return t
}

func subscriptionSummary(subs []haulv1.RepoSubscription) string {
	var out []string
	for _, s := range subs {
		switch {
		case s.Image != nil:
			out = append(out, "image:"+s.Image.RepoURL)
		case s.Git != nil:
			out = append(out, "git:"+s.Git.RepoURL)
		case s.Chart != nil:
			name := s.Chart.RepoURL
			if s.Chart.Name != "" {
				name += "/" + s.Chart.Name
			}
			out = append(out, "chart:"+name)
		}
	}
	return strings.Join(out, ",")
}

// ApprovalRules returns the approval requirement of a Stage (nil for none), for the
// APPROVALS column; a nil ApprovalRules shows counts without requirements.
type ApprovalRules func(namespace, stage string) *haulv1.ApprovalRequirement

// FreightTable lists Freight: NAME (alias), ID, ORIGIN, VERSIONS, STAGES, AGE; wide adds
// VERIFIED IN, APPROVED FOR and APPROVALS ("prod:2/3": two of the three approvals that
// Stage requires; "uat:1" for a Stage without a requirement).
func FreightTable(items []haulv1.Freight, now time.Time, wide bool, rules ApprovalRules) *Table {
	t := &Table{Headers: []string{"NAME", "ID", "ORIGIN", "VERSIONS", "STAGES", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "VERIFIED IN", "APPROVED FOR", "APPROVALS")
	}
	for _, f := range items {
		name := f.Alias
		if name == "" {
			name = ShortID(f.Name)
		}
		row := []string{name, ShortID(f.Name), f.Origin.Name, Truncate(FreightVersions(f.Images, f.Commits, f.Charts), 60),
			strings.Join(sortedKeys(f.Status.CurrentlyIn), ","), Ago(f.CreationTimestamp, now)}
		if wide {
			row = append(row, strings.Join(sortedKeys(f.Status.VerifiedIn), ","), strings.Join(sortedKeys(f.Status.ApprovedFor), ","),
				Approvals(&f, rules))
		}
		t.AddRow(row...)
	}
	return t
}

// Approvals summarises Freight's recorded approvals per Stage, Stages sorted:
// "prod:2/3,uat:1".
func Approvals(f *haulv1.Freight, rules ApprovalRules) string {
	stages := map[string]bool{}
	for _, a := range f.Status.Approvals {
		stages[a.Stage] = true
	}
	var out []string
	for _, st := range sortedKeys(stages) {
		var rule *haulv1.ApprovalRequirement
		if rules != nil {
			rule = rules(f.Namespace, st)
		}
		got := len(pipeline.CountApprovals(rule, f.Status.Approvals, st, "").Counted)
		if rule == nil {
			out = append(out, fmt.Sprintf("%s:%d", st, got))
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d/%d", st, got, pipeline.Required(rule)))
	}
	return strings.Join(out, ",")
}

// FreightVersions summarises artifact versions: the last path element of each repository
// with its tag, short commit or chart version.
func FreightVersions(images []haulv1.Image, commits []haulv1.GitCommit, charts []haulv1.Chart) string {
	var out []string
	for _, i := range images {
		v := i.Tag
		if v == "" {
			v = ShortID(strings.TrimPrefix(i.Digest, "sha256:"))
		}
		out = append(out, lastElem(i.RepoURL)+":"+v)
	}
	for _, c := range commits {
		v := ShortID(c.ID)
		if c.Tag != "" {
			v = c.Tag
		}
		out = append(out, lastElem(strings.TrimSuffix(c.RepoURL, ".git"))+"@"+v)
	}
	for _, c := range charts {
		n := c.Name
		if n == "" {
			n = lastElem(c.RepoURL)
		}
		out = append(out, n+":"+c.Version)
	}
	return strings.Join(out, ",")
}

func lastElem(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// StageTable lists Stages: NAME, FREIGHT (alias), HEALTH, PHASE (of the last promotion), AUTO, AGE;
// wide adds READY, UPSTREAM, PROMOTING, PR, LAST PROMOTED, PAUSED (spec.paused),
// WINDOW (the promotion window schedule), SHARD (the haul.dev/shard label) and HOLD
// (origins whose auto-promotion a manual promotion or a rollback holds).
func StageTable(items []haulv1.Stage, now time.Time, wide bool) *Table {
	t := &Table{Headers: []string{"NAME", "FREIGHT", "HEALTH", "PHASE", "AUTO", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "READY", "UPSTREAM", "PROMOTING", "PR", "LAST PROMOTED", "PAUSED", "WINDOW", "SHARD", "HOLD")
	}
	for _, s := range items {
		health := ""
		if s.Status.Health != nil {
			health = string(s.Status.Health.Status)
		}
		phase := ""
		if s.Status.LastPromotion != nil {
			phase = string(s.Status.LastPromotion.Phase)
		}
		if s.Status.CurrentPromotion != nil {
			phase = string(haulv1.PromotionRunning)
		}
		auto := "no"
		if s.Status.AutoPromotionEnabled {
			auto = "yes"
		}
		row := []string{s.Name, s.Status.FreightSummary, health, phase, auto, Ago(s.CreationTimestamp, now)}
		if wide {
			promoting, last, pr := "", "-", "-"
			if s.Status.CurrentPromotion != nil {
				promoting = s.Status.CurrentPromotion.Name
				pr = PullRequest(s.Status.CurrentPromotion.PullRequest)
			}
			if s.Status.LastPromotion != nil {
				last = AgoPtr(s.Status.LastPromotion.FinishedAt, now)
			}
			paused := "no"
			if s.Spec.Paused {
				paused = "yes"
			}
			row = append(row, conditionStatus(s.Status.Conditions, haulv1.ConditionReady),
				strings.Join(Upstreams(&s), ","), promoting, pr, last, paused, Window(s.Status.PromotionWindowStatus, now), shardOf(s.Labels), Holds(s.Status.AutoPromotionHolds))
		}
		t.AddRow(row...)
	}
	return t
}

// Window reads a Stage's promotion window schedule as "closed until 09:00", "open
// until 17:00" (times in now's zone; a date is added beyond 24 hours), "closed" (no
// known reopening), "open", or "-" when no window selects the Stage.
func Window(ws *haulv1.PromotionWindowStatus, now time.Time) string {
	if ws == nil {
		return "-"
	}
	state, next := "open", ws.NextClose
	if ws.Closed {
		state, next = "closed", ws.NextOpen
	}
	if next == nil {
		return state
	}
	at := next.In(now.Location())
	layout := "15:04"
	if at.Sub(now) >= 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	return state + " until " + at.Format(layout)
}

// Holds reads a Stage's auto-promotion holds as "<origin> on <freight>" per held
// origin, comma-separated, or "-" when none.
func Holds(holds []haulv1.AutoPromotionHold) string {
	if len(holds) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(holds))
	for _, h := range holds {
		f := h.FreightAlias
		if f == "" {
			f = ShortID(h.Freight)
		}
		parts = append(parts, h.Origin.Name+" on "+f)
	}
	return strings.Join(parts, ",")
}

// Upstreams lists the sources of a Stage: upstream stage names, and warehouses it takes directly.
func Upstreams(s *haulv1.Stage) []string {
	var out []string
	for _, r := range s.Spec.RequestedFreight {
		if r.Sources.Direct {
			out = append(out, strings.ToLower(string(r.Origin.Kind))+"/"+r.Origin.Name)
		}
		out = append(out, r.Sources.Stages...)
	}
	return out
}

// PromotionTable lists Promotions: NAME, STAGE, FREIGHT, PHASE, STEP, AGE.
func PromotionTable(items []haulv1.Promotion, now time.Time, wide bool) *Table {
	t := &Table{Headers: []string{"NAME", "STAGE", "FREIGHT", "PHASE", "STEP", "AGE"}}
	if wide {
		t.Headers = append(t.Headers, "ACTOR", "DURATION", "PR", "SHARD", "MESSAGE")
	}
	for _, p := range items {
		freight := ShortID(p.Spec.Freight)
		if p.Status.Freight != nil && p.Status.Freight.Alias != "" {
			freight = p.Status.Freight.Alias
		}
		row := []string{p.Name, p.Spec.Stage, freight, string(p.Status.Phase), StepProgress(&p), Ago(p.CreationTimestamp, now)}
		if wide {
			dur := "-"
			if p.Status.StartedAt != nil {
				end := now
				if p.Status.FinishedAt != nil {
					end = p.Status.FinishedAt.Time
				}
				dur = HumanDuration(end.Sub(p.Status.StartedAt.Time))
			}
			row = append(row, p.Annotations[haulv1.AnnotationCreateActor], dur, PullRequest(p.Status.PullRequest()), shardOf(p.Labels), Truncate(p.Status.Message, 60))
		}
		t.AddRow(row...)
	}
	return t
}

// shardOf renders an object's controller shard (haul.dev/shard), "-" for the default
// controller's.
func shardOf(labels map[string]string) string {
	if s := labels[haulv1.LabelShard]; s != "" {
		return s
	}
	return "-"
}

// PullRequest renders a pull request as "#12 open", or "-" for none. The URL is in
// -o yaml and `haul logs`.
func PullRequest(pr *haulv1.PullRequestStatus) string {
	if pr == nil {
		return "-"
	}
	return fmt.Sprintf("#%d %s", pr.Number, pr.State)
}

// StepProgress renders "2/5 git-push" for a started Promotion, or "-".
func StepProgress(p *haulv1.Promotion) string {
	n := len(p.Status.Steps)
	if n == 0 {
		return "-"
	}
	i := int(p.Status.CurrentStep)
	if p.Status.Phase == haulv1.PromotionSucceeded {
		return fmt.Sprintf("%d/%d", n, n)
	}
	if i >= n {
		i = n - 1
	}
	st := p.Status.Steps[i]
	label := st.As
	if label == "" {
		label = st.Uses
	}
	if label == "" {
		label = StepAlias(st, i)
	}
	return fmt.Sprintf("%d/%d %s", i+1, n, label)
}

// StepAlias is the step's `as`, or the default step-N (1-based, as Kargo numbers them).
func StepAlias(s haulv1.PromotionStep, i int) string {
	if s.As != "" {
		return s.As
	}
	return fmt.Sprintf("step-%d", i+1)
}

// PromotionTaskTable lists PromotionTasks or ClusterPromotionTasks: NAME, STEPS, VARS, AGE.
func PromotionTaskTable(names []string, specs []haulv1.PromotionTaskSpec, created []metav1.Time, now time.Time) *Table {
	t := &Table{Headers: []string{"NAME", "STEPS", "VARS", "AGE"}}
	for i := range names {
		t.AddRow(names[i], fmt.Sprint(len(specs[i].Steps)), fmt.Sprint(len(specs[i].Vars)), Ago(created[i], now))
	}
	return t
}

func conditionStatus(cs []metav1.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return string(c.Status)
		}
	}
	return "Unknown"
}

func conditionReason(cs []metav1.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return c.Reason
		}
	}
	return ""
}

func conditionMessage(cs []metav1.Condition, typ string) string {
	for _, c := range cs {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/webhook/generic"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/warehouse"
)

// Cluster is what the cluster already holds in the namespaces a set touches, for the
// checks that span objects (stage cycles, references to stages and warehouses).
type Cluster struct {
	// Stages by namespace.
	Stages map[string][]haulv1.Stage
	// Warehouses by namespace: the set of names.
	Warehouses map[string]map[string]bool
	// PromotionTasks by namespace, and ClusterPromotionTasks (nil when unknown): the sets of names.
	PromotionTasks        map[string]map[string]bool
	ClusterPromotionTasks map[string]bool
	// Steps are the step kinds (`uses`) the promotion engine knows; empty skips the check.
	Steps []string
	// StepOutputs gives the output keys of a step kind for its config (the promotion
	// engine's Registry.OutputKeys); nil skips the check of outputs references.
	StepOutputs StepOutputsFunc
}

// StepOutputsFunc returns the output keys of step kind uses with config; known is
// false when they cannot be told before the step runs.
type StepOutputsFunc func(uses string, config map[string]any) (keys []string, known bool)

// Problem is one reason a document is rejected.
type Problem struct {
	Document string
	Message  string
}

// ValidationError lists every problem found in a set; nothing of the set may be written.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, p.Document+": "+p.Message)
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems: %s", len(lines), strings.Join(lines, "; "))
}

// Decode strictly decodes a Haul document into its Go type; unknown or duplicate fields
// are reported with their path.
func Decode(d *Document) (runtime.Object, []string, error) {
	obj, err := newObject(d.Object.GetKind())
	if err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(d.Object.Object)
	if err != nil {
		return nil, nil, err
	}
	strict, err := sigsjson.UnmarshalStrict(b, obj)
	if err != nil {
		return nil, nil, fmt.Errorf("%s", cleanJSONError(err))
	}
	var msgs []string
	for _, e := range strict {
		msgs = append(msgs, cleanJSONError(e))
	}
	return obj, msgs, nil
}

func newObject(kind string) (runtime.Object, error) {
	switch kind {
	case "Project":
		return &haulv1.Project{}, nil
	case "ProjectConfig":
		return &haulv1.ProjectConfig{}, nil
	case "ClusterConfig":
		return &haulv1.ClusterConfig{}, nil
	case "Warehouse":
		return &haulv1.Warehouse{}, nil
	case "Freight":
		return &haulv1.Freight{}, nil
	case "Stage":
		return &haulv1.Stage{}, nil
	case "Promotion":
		return &haulv1.Promotion{}, nil
	case "PromotionTask":
		return &haulv1.PromotionTask{}, nil
	case "ClusterPromotionTask":
		return &haulv1.ClusterPromotionTask{}, nil
	case "MessageChannel":
		return &haulv1.MessageChannel{}, nil
	case "ClusterMessageChannel":
		return &haulv1.ClusterMessageChannel{}, nil
	case "EventRouter":
		return &haulv1.EventRouter{}, nil
	case "ClusterEventRouter":
		return &haulv1.ClusterEventRouter{}, nil
	}
	return nil, fmt.Errorf("kind %q is not a Haul kind (known: Project, ProjectConfig, ClusterConfig, Warehouse, Freight, Stage, Promotion, PromotionTask, ClusterPromotionTask, MessageChannel, ClusterMessageChannel, EventRouter, ClusterEventRouter)", kind)
}

// cleanJSONError turns `json: unknown field "spec.x"` into `spec.x: unknown field`.
func cleanJSONError(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: ")
	for _, kind := range []string{"unknown field", "duplicate field"} {
		if rest, ok := strings.CutPrefix(s, kind+" "); ok {
			return strings.Trim(rest, `"`) + ": " + kind
		}
	}
	if i := strings.Index(s, "json: cannot unmarshal "); i >= 0 {
		// e.g. json: cannot unmarshal string into Go struct field Stage.spec.requestedFreight of type []v1alpha1.FreightRequest
		msg := s[i+len("json: cannot unmarshal "):]
		if j := strings.Index(msg, " into Go struct field "); j >= 0 {
			what := msg[:j]
			rest := msg[j+len(" into Go struct field "):]
			path, typ, _ := strings.Cut(rest, " of type ")
			if k := strings.IndexByte(path, '.'); k >= 0 {
				path = path[k+1:]
			}
			return fmt.Sprintf("%s: wrong type: got %s, want %s", path, what, typ)
		}
	}
	return strings.TrimPrefix(s, "json: ")
}

// Validate checks a whole set before anything is written. It returns warnings (things
// that may be fine later, such as an upstream stage applied afterwards) and a
// *ValidationError listing every problem.
func Validate(docs []Document, cluster Cluster) ([]string, error) {
	var problems []Problem
	var warnings []string
	add := func(d *Document, format string, args ...any) {
		problems = append(problems, Problem{Document: d.Describe(), Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]string{}
	stagesByNS := map[string][]haulv1.Stage{}
	stageDocs := map[string]*Document{}
	warehousesByNS := map[string]map[string]bool{}
	tasksByNS := map[string]map[string]bool{}
	clusterTasks := map[string]bool{}
	type taskRef struct {
		d    *Document
		path string
		ref  haulv1.PromotionTaskReference
	}
	var taskRefs []taskRef
	for i := range docs {
		d := &docs[i]
		key := d.Object.GetAPIVersion() + "/" + d.Object.GetKind() + "/" + d.Object.GetNamespace() + "/" + d.Object.GetName()
		if prev, dup := seen[key]; dup {
			add(d, "duplicate of the object in %s", prev)
			continue
		}
		seen[key] = d.Source
		if d.Object.GroupVersionKind().Group != haulv1.GroupVersion.Group {
			continue
		}
		if d.Object.GetAPIVersion() != haulv1.GroupVersion.String() {
			add(d, "apiVersion %q is not served; use %s", d.Object.GetAPIVersion(), haulv1.GroupVersion)
			continue
		}
		obj, strict, err := Decode(d)
		if err != nil {
			add(d, "%v", err)
			continue
		}
		for _, m := range strict {
			add(d, "%s", m)
		}
		schemaMsgs, err := schemaErrors(d.Object.GetKind(), d.Object.Object)
		if err != nil {
			return nil, err
		}
		for _, m := range schemaMsgs {
			add(d, "%s", m)
		}
		for _, m := range semanticErrors(obj, cluster.Steps, cluster.StepOutputs) {
			add(d, "%s", m)
		}
		if st, ok := obj.(*haulv1.Stage); ok && st.Spec.PromotionTemplate != nil {
			for j, step := range st.Spec.PromotionTemplate.Spec.Steps {
				if step.Task != nil {
					taskRefs = append(taskRefs, taskRef{d, fmt.Sprintf("spec.promotionTemplate.spec.steps[%d].task", j), *step.Task})
				}
			}
		}
		switch o := obj.(type) {
		case *haulv1.Stage:
			stagesByNS[d.Object.GetNamespace()] = append(stagesByNS[d.Object.GetNamespace()], *o)
			stageDocs[d.Object.GetNamespace()+"/"+o.Name] = d
		case *haulv1.PromotionTask:
			if tasksByNS[d.Object.GetNamespace()] == nil {
				tasksByNS[d.Object.GetNamespace()] = map[string]bool{}
			}
			tasksByNS[d.Object.GetNamespace()][o.Name] = true
		case *haulv1.ClusterPromotionTask:
			clusterTasks[o.Name] = true
		case *haulv1.Warehouse:
			if warehousesByNS[d.Object.GetNamespace()] == nil {
				warehousesByNS[d.Object.GetNamespace()] = map[string]bool{}
			}
			warehousesByNS[d.Object.GetNamespace()][o.Name] = true
		}
	}

	namespaces := make([]string, 0, len(stagesByNS))
	for ns := range stagesByNS {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		proposed := stagesByNS[ns]
		all := append(append([]haulv1.Stage{}, cluster.Stages[ns]...), proposed...)
		known := map[string]bool{}
		for _, s := range all {
			known[s.Name] = true
		}
		cycles := pipeline.FindCycle(all)
		for _, s := range proposed {
			d := stageDocs[ns+"/"+s.Name]
			if loop, ok := cycles[s.Name]; ok {
				add(d, "spec.requestedFreight: stage cycle %s (a stage may not take Freight from itself, directly or through other stages)", strings.Join(loop, " → "))
			}
			for i, r := range s.Spec.RequestedFreight {
				for _, up := range r.Sources.Stages {
					if !known[up] {
						warnings = append(warnings, fmt.Sprintf("%s: spec.requestedFreight[%d].sources.stages: stage %q does not exist in project %q (yet)", d.ResourceName(), i, up, ns))
					}
				}
				if r.Origin.Kind == haulv1.FreightOriginKindWarehouse && !warehousesByNS[ns][r.Origin.Name] && !cluster.Warehouses[ns][r.Origin.Name] {
					warnings = append(warnings, fmt.Sprintf("%s: spec.requestedFreight[%d].origin: warehouse %q does not exist in project %q (yet)", d.ResourceName(), i, r.Origin.Name, ns))
				}
			}
		}
	}
	for _, r := range taskRefs {
		ns := r.d.Object.GetNamespace()
		if r.ref.Kind == haulv1.PromotionTaskKindCluster {
			if !clusterTasks[r.ref.Name] && cluster.ClusterPromotionTasks != nil && !cluster.ClusterPromotionTasks[r.ref.Name] {
				warnings = append(warnings, fmt.Sprintf("%s: %s: ClusterPromotionTask %q does not exist (yet)", r.d.ResourceName(), r.path, r.ref.Name))
			}
			continue
		}
		if !tasksByNS[ns][r.ref.Name] && !cluster.PromotionTasks[ns][r.ref.Name] {
			warnings = append(warnings, fmt.Sprintf("%s: %s: PromotionTask %q does not exist in project %q (yet)", r.d.ResourceName(), r.path, r.ref.Name, ns))
		}
	}
	if len(problems) > 0 {
		return warnings, &ValidationError{Problems: problems}
	}
	return warnings, nil
}

// semanticErrors checks what neither the Go types nor the CRD schema can: semver
// constraints, regular expressions, globs and expressions.
func semanticErrors(obj runtime.Object, known []string, outputs StepOutputsFunc) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch o := obj.(type) {
	case *haulv1.Warehouse:
		if c := o.Spec.FreightCreationCriteria; c != nil && c.Expression != "" {
			src := unwrapExpression(c.Expression)
			if err := compileExpression(src); err != nil {
				bad("spec.freightCreationCriteria.expression: %v", err)
			} else if _, err := warehouse.CompileCriteria(src); err != nil {
				bad("spec.freightCreationCriteria.expression: expression %q: %s", Shorten(src, 80), firstLine(innerError(err).Error()))
			}
		}
		for i, s := range o.Spec.Subscriptions {
			p := fmt.Sprintf("spec.subscriptions[%d]", i)
			if img := s.Image; img != nil {
				if (img.ImageSelectionStrategy == "" || img.ImageSelectionStrategy == haulv1.ImageSelectionSemVer) && img.Constraint != "" {
					if err := checkConstraint(img.Constraint); err != nil {
						bad("%s.image.constraint: %v", p, err)
					}
				}
				out = append(out, checkRegexes(p+".image.allowTagsRegexes", img.AllowTagsRegexes)...)
				out = append(out, checkRegexes(p+".image.ignoreTagsRegexes", img.IgnoreTagsRegexes)...)
			}
			if g := s.Git; g != nil {
				if err := gitx.CheckURL(p+".git.repoURL", g.RepoURL); err != nil {
					bad("%v", err)
				}
				if g.SemverConstraint != "" {
					if err := checkConstraint(g.SemverConstraint); err != nil {
						bad("%s.git.semverConstraint: %v", p, err)
					}
				}
				out = append(out, checkRegexes(p+".git.allowTagsRegexes", g.AllowTagsRegexes)...)
				out = append(out, checkRegexes(p+".git.ignoreTagsRegexes", g.IgnoreTagsRegexes)...)
				out = append(out, checkPathSelectors(p+".git.includePaths", g.IncludePaths)...)
				out = append(out, checkPathSelectors(p+".git.excludePaths", g.ExcludePaths)...)
				if g.ExpressionFilter != "" {
					if err := compileExpression(unwrapExpression(g.ExpressionFilter)); err != nil {
						bad("%s.git.expressionFilter: %v", p, err)
					} else if err := warehouse.CheckExpressionFilter(*g, p+".git.expressionFilter"); err != nil {
						bad("%s.git.expressionFilter: expression %q: %s", p, Shorten(g.ExpressionFilter, 80), firstLine(innerError(err).Error()))
					}
				}
			}
			if c := s.Chart; c != nil && c.SemverConstraint != "" {
				if err := checkConstraint(c.SemverConstraint); err != nil {
					bad("%s.chart.semverConstraint: %v", p, err)
				}
			}
		}
	case *haulv1.Stage:
		out = append(out, checkVars("spec.vars", o.Spec.Vars)...)
		if t := o.Spec.PromotionTemplate; t != nil {
			out = append(out, checkVars("spec.promotionTemplate.spec.vars", t.Spec.Vars)...)
			out = append(out, checkSteps("spec.promotionTemplate.spec.steps", t.Spec.Steps, known)...)
			out = append(out, checkOutputRefs("spec.promotionTemplate.spec.steps", t.Spec.Steps, outputs, false)...)
		}
		if v := o.Spec.Verification; v != nil {
			out = append(out, checkSteps("spec.verification.steps", v.Steps, known)...)
		}
	case *haulv1.PromotionTask:
		out = append(out, checkVars("spec.vars", o.Spec.Vars)...)
		out = append(out, checkSteps("spec.steps", o.Spec.Steps, known)...)
		out = append(out, checkOutputRefs("spec.steps", o.Spec.Steps, outputs, true)...)
	case *haulv1.ClusterPromotionTask:
		out = append(out, checkVars("spec.vars", o.Spec.Vars)...)
		out = append(out, checkSteps("spec.steps", o.Spec.Steps, known)...)
		out = append(out, checkOutputRefs("spec.steps", o.Spec.Steps, outputs, true)...)
	case *haulv1.ProjectConfig:
		for i, p := range o.Spec.PromotionPolicies {
			path := fmt.Sprintf("spec.promotionPolicies[%d].stageSelector.name", i)
			if err := checkNamePattern(p.StageSelector.Name); err != nil {
				bad("%s: %v", path, err)
			}
		}
		if err := pipeline.ValidateWindows("spec.promotionWindows", o.Spec.PromotionWindows); err != nil {
			bad("%v", err)
		}
		out = append(out, checkReceivers(o.Spec.WebhookReceivers)...)
	case *haulv1.ClusterConfig:
		if err := pipeline.ValidateWindows("spec.promotionWindows", o.Spec.PromotionWindows); err != nil {
			bad("%v", err)
		}
		out = append(out, checkReceivers(o.Spec.WebhookReceivers)...)
	case *haulv1.Promotion:
		out = append(out, checkVars("spec.vars", o.Spec.Vars)...)
	}
	return out
}

// checkReceivers type-checks the expressions of generic receivers' actions as the
// receiver will run them (internal/webhook/generic).
func checkReceivers(receivers []haulv1.WebhookReceiver) []string {
	var out []string
	for i, r := range receivers {
		out = append(out, generic.Check(fmt.Sprintf("spec.webhookReceivers[%d].generic", i), r.Generic)...)
	}
	return out
}

// checkConstraint parses a semver range the way discovery will.
func checkConstraint(c string) error {
	if strings.TrimSpace(c) == "" {
		return fmt.Errorf("empty semver constraint")
	}
	if _, err := semver.NewConstraint(c); err != nil {
		return fmt.Errorf("invalid semver constraint %q: %w", c, err)
	}
	return nil
}

func checkRegexes(path string, rs []string) []string {
	var out []string
	for i, r := range rs {
		if _, err := regexp.Compile(r); err != nil {
			out = append(out, fmt.Sprintf("%s[%d]: invalid regular expression %q: %v", path, i, r, err))
		}
	}
	return out
}

// checkPathSelectors checks include/exclude paths: a prefix, `glob:PATTERN` or `regex:PATTERN`.
func checkPathSelectors(path string, sel []string) []string {
	var out []string
	for i, s := range sel {
		if err := checkNamePattern(s); err != nil {
			out = append(out, fmt.Sprintf("%s[%d]: %v", path, i, err))
		}
	}
	return out
}

func checkNamePattern(s string) error {
	if r, ok := strings.CutPrefix(s, "regex:"); ok {
		if _, err := regexp.Compile(r); err != nil {
			return fmt.Errorf("invalid regular expression %q: %w", r, err)
		}
	}
	if g, ok := strings.CutPrefix(s, "glob:"); ok {
		if _, err := filepath.Match(g, ""); err != nil {
			return fmt.Errorf("invalid glob %q: %w", g, err)
		}
	}
	return nil
}

func checkVars(path string, vars []haulv1.Var) []string {
	var out []string
	for i, v := range vars {
		if err := checkTemplate(v.Value); err != nil {
			out = append(out, fmt.Sprintf("%s[%d].value: %v", path, i, err))
		}
	}
	return out
}

func checkSteps(path string, steps []haulv1.PromotionStep, known []string) []string {
	var out []string
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	aliases := map[string]int{}
	for i, s := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		if s.As != "" {
			if j, dup := aliases[s.As]; dup {
				out = append(out, fmt.Sprintf("%s.as: alias %q is already used by %s[%d]", p, s.As, path, j))
			}
			aliases[s.As] = i
		}
		if s.Uses != "" && len(known) > 0 && !isKnown[s.Uses] {
			out = append(out, fmt.Sprintf("%s.uses: unknown step %q (known: %s)", p, s.Uses, strings.Join(known, ", ")))
		}
		if s.If != "" {
			if err := checkStepExpression(unwrapExpression(s.If)); err != nil {
				out = append(out, fmt.Sprintf("%s.if: %v", p, err))
			}
		}
		out = append(out, checkVars(p+".vars", s.Vars)...)
		if s.Retry != nil && s.Retry.Timeout != nil && s.Retry.Timeout.Duration > haulv1.MaxStepTimeout {
			out = append(out, fmt.Sprintf("%s.retry.timeout: %s is longer than the maximum of 24h", p, s.Retry.Timeout.Duration))
		}
		if s.Config != nil && len(s.Config.Raw) > 0 {
			var cfg any
			if err := json.Unmarshal(s.Config.Raw, &cfg); err != nil {
				out = append(out, fmt.Sprintf("%s.config: %v", p, err))
				continue
			}
			out = append(out, checkConfigDurations(p+".config", cfg)...)
			var msgs []string
			walkStrings(p+".config", cfg, func(path, str string) {
				if err := checkTemplate(str); err != nil {
					msgs = append(msgs, fmt.Sprintf("%s: %v", path, err))
				}
			})
			sort.Strings(msgs)
			out = append(out, msgs...)
		}
	}
	return out
}

// unwrapExpression accepts both a bare expression and one wrapped in ${{ }}.
// innerError is what a wrapped error wraps (the compiler's message without the field
// and value the caller names itself), or err.
func innerError(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

func unwrapExpression(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") {
		return strings.TrimSpace(t[3 : len(t)-2])
	}
	return t
}

// stepDurationFields are step config fields (the http step's) holding durations that
// are capped at haulv1.MaxStepTimeout, as the step itself caps them when it runs; the
// CRD schema cannot see inside a step's config.
var stepDurationFields = []string{"timeout", "pollInterval"}

func checkConfigDurations(path string, cfg any) []string {
	m, _ := cfg.(map[string]any)
	var out []string
	for _, f := range stepDurationFields {
		v, ok := m[f].(string)
		if !ok || strings.Contains(v, "${{") {
			continue
		}
		if d, err := time.ParseDuration(v); err == nil && d > haulv1.MaxStepTimeout {
			out = append(out, fmt.Sprintf("%s.%s: %q is longer than the maximum of 24h", path, f, v))
		}
	}
	return out
}

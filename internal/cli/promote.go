package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

type promoteOptions struct {
	stage          string
	freight        string
	freightAlias   string
	warehouse      string
	downstreamFrom string
	abort          string
	wait           bool
	timeout        time.Duration
	overrideReason string
}

// newPromoteCommand builds `haul promote`.
func newPromoteCommand(g *GlobalOptions) *cobra.Command {
	o := &promoteOptions{}
	cmd := &cobra.Command{
		Use:   "promote --stage S (--freight NAME | --freight-alias A | --warehouse W)",
		Short: "Promote Freight to a Stage (or to every Stage downstream of one)",
		Long: "Create a Promotion of Freight to a Stage. The Freight must be available to the Stage:\n" +
			"approved for it, taken directly from its Warehouse, or verified upstream.\n\n" +
			"--warehouse W picks the newest Freight of W available to the Stage.\n" +
			"--downstream-from S promotes to every Stage that takes Freight from S.\n" +
			"--abort NAME aborts a running Promotion.\n" +
			"--override-reason R promotes through closed promotion windows (needs verb override on\n" +
			"the Stage; R is recorded on the Promotion).\n\n" +
			"With --wait the exit status is 0 when the Promotion Succeeded, 1 when it Failed,\n" +
			"Errored or was Aborted, and 2 when --timeout passed first. After a success it\n" +
			"returns once the Stage records the Promotion (up to 10s), so `haul get stage`\n" +
			"right after it shows the promoted Freight.",
		Example: "  haul promote --stage test --warehouse app --wait\n" +
			"  haul promote --stage prod --freight-alias brave-otter\n" +
			"  haul promote --downstream-from test --freight-alias brave-otter\n" +
			"  haul promote --abort prod.01j9zq5m2x6y7v8w9a0b1c2d3e.3f2a1b0\n" +
			"  haul promote --stage prod --freight-alias brave-otter --override-reason \"hotfix INC-42\"",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			return runPromote(cmd.Context(), s, ns, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "Stage to promote to")
	f.StringVar(&o.freight, "freight", "", "Freight to promote, by name (or alias)")
	f.StringVar(&o.freightAlias, "freight-alias", "", "Freight to promote, by alias")
	f.StringVar(&o.warehouse, "warehouse", "", "promote the newest Freight of this Warehouse available to the Stage")
	f.StringVar(&o.downstreamFrom, "downstream-from", "", "promote to every Stage directly downstream of this one")
	f.StringVar(&o.abort, "abort", "", "abort the named Promotion")
	f.BoolVar(&o.wait, "wait", false, "follow the Promotion's steps until it finishes; exit 0 only if it Succeeded")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "with --wait, give up after this long")
	f.StringVar(&o.overrideReason, "override-reason", "", "promote even though the Stage's promotion windows are closed, for this reason (needs verb override)")
	for flag, kind := range map[string]string{"stage": "stage", "downstream-from": "stage", "warehouse": "warehouse", "freight": "freight", "abort": "promotion"} {
		_ = cmd.RegisterFlagCompletionFunc(flag, nameCompletion(g, kind))
	}
	return cmd
}

func (o *promoteOptions) validate() error {
	if o.abort != "" {
		if o.stage != "" || o.freight != "" || o.freightAlias != "" || o.warehouse != "" || o.downstreamFrom != "" {
			return errors.New("--abort takes only a Promotion name")
		}
		return nil
	}
	if (o.stage == "") == (o.downstreamFrom == "") {
		return errors.New("pass exactly one of --stage or --downstream-from")
	}
	n := 0
	for _, v := range []string{o.freight, o.freightAlias, o.warehouse} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("pass exactly one of --freight, --freight-alias or --warehouse")
	}
	if o.downstreamFrom != "" && o.warehouse != "" {
		return errors.New("--downstream-from needs --freight or --freight-alias")
	}
	return nil
}

func runPromote(ctx context.Context, s *session, ns string, out io.Writer, o *promoteOptions) error {
	if o.abort != "" {
		return annotate(ctx, s, out, kindByKind("Promotion"), ns, o.abort, haulv1.AnnotationAbort, "abort requested")
	}
	if o.downstreamFrom != "" {
		return promoteDownstream(ctx, s, ns, out, o)
	}
	stage := &haulv1.Stage{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.stage}, stage); err != nil {
		return translate(err, opFor("get", kindByKind("Stage"), o.stage, ns))
	}
	var f *haulv1.Freight
	var err error
	switch {
	case o.warehouse != "":
		f, err = newestAvailable(ctx, s, ns, o.warehouse, stage)
	case o.freightAlias != "":
		f, err = findFreightByAlias(ctx, s, ns, o.freightAlias)
	default:
		f, err = findFreight(ctx, s, ns, o.freight)
	}
	if err != nil {
		return err
	}
	if err := canPromote(ctx, s, ns, stage.Name); err != nil {
		return err
	}
	if ok, why := pipeline.IsAvailable(f, stage, now()); !ok {
		return fmt.Errorf("Freight %s is not available to Stage %s: %s", freightLabel(f), stage.Name, why)
	}
	if ok, why, err := approvalGate(ctx, s, f, stage); err != nil {
		return err
	} else if !ok {
		return errors.New(why)
	}
	override, err := windowGate(ctx, s, stage, o.overrideReason)
	if err != nil {
		return err
	}
	p, err := createPromotion(ctx, s, stage, f, override)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "promotion.haul.dev/%s created (Freight %s → Stage %s)\n", p.Name, freightLabel(f), stage.Name)
	if o.wait {
		return waitForPromotion(ctx, s, ns, p.Name, out, o.timeout)
	}
	return nil
}

// promoteDownstream promotes Freight to every Stage that lists the given Stage as an
// upstream source, where the Freight is available.
func promoteDownstream(ctx context.Context, s *session, ns string, out io.Writer, o *promoteOptions) error {
	up := &haulv1.Stage{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.downstreamFrom}, up); err != nil {
		return translate(err, opFor("get", kindByKind("Stage"), o.downstreamFrom, ns))
	}
	var f *haulv1.Freight
	var err error
	if o.freightAlias != "" {
		f, err = findFreightByAlias(ctx, s, ns, o.freightAlias)
	} else {
		f, err = findFreight(ctx, s, ns, o.freight)
	}
	if err != nil {
		return err
	}
	stages := &haulv1.StageList{}
	if err := s.client.List(ctx, stages, client.InNamespace(ns)); err != nil {
		return translate(err, opFor("list", kindByKind("Stage"), "", ns))
	}
	sort.Slice(stages.Items, func(i, j int) bool { return stages.Items[i].Name < stages.Items[j].Name })
	var created []string
	found := false
	for i := range stages.Items {
		st := &stages.Items[i]
		req := pipeline.RequestFor(st, f.Origin)
		if req == nil || !contains(req.Sources.Stages, up.Name) {
			continue
		}
		found = true
		if err := canPromote(ctx, s, ns, st.Name); err != nil {
			return err
		}
		if ok, why := pipeline.IsAvailable(f, st, now()); !ok {
			_, _ = fmt.Fprintf(out, "stage %s skipped: Freight %s is not available to it: %s\n", st.Name, freightLabel(f), why)
			continue
		}
		if ok, why, err := approvalGate(ctx, s, f, st); err != nil {
			return err
		} else if !ok {
			_, _ = fmt.Fprintf(out, "stage %s skipped: %s\n", st.Name, why)
			continue
		}
		override, err := windowGate(ctx, s, st, o.overrideReason)
		var closed *windowClosedError
		if errors.As(err, &closed) {
			_, _ = fmt.Fprintf(out, "stage %s skipped: %s\n", st.Name, closed.reason)
			continue
		}
		if err != nil {
			return err
		}
		p, err := createPromotion(ctx, s, st, f, override)
		if err != nil {
			return err
		}
		created = append(created, p.Name)
		_, _ = fmt.Fprintf(out, "promotion.haul.dev/%s created (Freight %s → Stage %s)\n", p.Name, freightLabel(f), st.Name)
	}
	if !found {
		return fmt.Errorf("no Stage takes Freight from %s downstream of Stage %s", f.Origin, up.Name)
	}
	if len(created) == 0 {
		return fmt.Errorf("Freight %s is not available to any Stage downstream of %s", freightLabel(f), up.Name)
	}
	if o.wait {
		var failed error
		for _, name := range created {
			if err := waitForPromotion(ctx, s, ns, name, out, o.timeout); err != nil && failed == nil {
				failed = err
			}
		}
		return failed
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// canPromote asks the API server whether the caller holds the custom verb promote on the
// Stage, which is what lets someone move Freight (creating Promotions alone is not enough).
func canPromote(ctx context.Context, s *session, ns, stage string) error {
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: "promote", Group: haulv1.GroupVersion.Group, Resource: "stages", Name: stage,
		},
	}}
	if err := s.client.Create(ctx, r); err != nil {
		return translate(err, op{verb: "create", kind: "selfsubjectaccessreview", resource: "selfsubjectaccessreviews", host: s.host})
	}
	if !r.Status.Allowed {
		return fmt.Errorf("you may not promote stage %s in project %s (needs verb promote on stages)", stage, ns)
	}
	return nil
}

// approvalGate applies the Stage's approval requirement to a promotion by this user,
// whose own approval does not count when the Stage forbids self-approval. The
// Promotion controller applies it again, so this only saves a Promotion that would wait.
func approvalGate(ctx context.Context, s *session, f *haulv1.Freight, st *haulv1.Stage) (bool, string, error) {
	rule, err := approvalRule(ctx, s, st)
	if err != nil || rule == nil {
		return true, "", err
	}
	ok, why := pipeline.ApprovalGate(f, st, rule, s.whoAmI(ctx))
	return ok, why, nil
}

// createPromotion creates the Promotion of f to stage (which carries the Stage's shard
// label, so the Stage's controller shard runs it); override, when set, is its
// haul.dev/window-override annotation.
func createPromotion(ctx context.Context, s *session, stage *haulv1.Stage, f *haulv1.Freight, override string) (*haulv1.Promotion, error) {
	p := promotion.New(stage, f.Name, "cli:"+s.whoAmI(ctx))
	if override != "" {
		p.Annotations[haulv1.AnnotationWindowOverride] = override
	}
	if err := s.client.Create(ctx, p); err != nil {
		o := opFor("create", kindByKind("Promotion"), "", stage.Namespace)
		return nil, translate(err, o)
	}
	return p, nil
}

// newestAvailable picks the newest Freight from the Warehouse that is available to the Stage.
func newestAvailable(ctx context.Context, s *session, ns, warehouse string, stage *haulv1.Stage) (*haulv1.Freight, error) {
	list := &haulv1.FreightList{}
	if err := s.client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, translate(err, opFor("list", kindByKind("Freight"), "", ns))
	}
	var candidates []haulv1.Freight
	for _, f := range list.Items {
		if f.Origin.Kind == haulv1.FreightOriginKindWarehouse && f.Origin.Name == warehouse {
			candidates = append(candidates, f)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("warehouse %q has no Freight in project %q", warehouse, ns)
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		ti, tj := candidates[i].CreationTimestamp, candidates[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return candidates[i].Name > candidates[j].Name
	})
	var firstWhy string
	for i := range candidates {
		ok, why := pipeline.IsAvailable(&candidates[i], stage, now())
		if ok {
			return &candidates[i], nil
		}
		if firstWhy == "" {
			firstWhy = why
		}
	}
	return nil, fmt.Errorf("no Freight from warehouse %s is available to Stage %s (newest: %s)", warehouse, stage.Name, firstWhy)
}

func findFreightByAlias(ctx context.Context, s *session, ns, alias string) (*haulv1.Freight, error) {
	f, err := findFreight(ctx, s, ns, alias)
	if err != nil {
		return nil, err
	}
	if f.Alias != alias {
		return nil, fmt.Errorf("freight with alias %q not found in project %q", alias, ns)
	}
	return f, nil
}

// freightLabel names Freight the way people know it: its alias, else its short ID.
func freightLabel(f *haulv1.Freight) string {
	if f.Alias != "" {
		return f.Alias
	}
	if len(f.Name) > 7 {
		return f.Name[:7]
	}
	return f.Name
}

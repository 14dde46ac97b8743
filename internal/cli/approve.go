package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// newApproveCommand builds `haul approve`.
func newApproveCommand(g *GlobalOptions) *cobra.Command {
	var freight, alias, stage, promo, message string
	var reject bool
	cmd := &cobra.Command{
		Use:   "approve (--freight NAME | --freight-alias A) --stage S | --promotion NAME [--reject] [--message M]",
		Short: "Approve Freight for a Stage, making it available there without upstream verification",
		Long: "Record your approval of Freight for a Stage. A Stage that requires several approvals\n" +
			"(spec.approval or a ProjectConfig approval policy) takes the Freight once enough\n" +
			"distinct people approved; approving twice counts once. Needs the verb approve on\n" +
			"freights (roles haul-approver, haul-promoter, haul-admin).\n\n" +
			"With --promotion, answer the running Promotion's wait-for-approval step instead:\n" +
			"approve it, or --reject it (failing the Promotion), with an optional --message.\n" +
			"See docs/governance.md.",
		Example: "  haul approve --freight-alias brave-otter --stage prod\n  haul approve --promotion prod.01jc... --reject --message 'not during the sale'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if promo != "" {
				if freight != "" || alias != "" || stage != "" {
					return errors.New("--promotion answers a wait-for-approval step; it does not take --freight, --freight-alias or --stage")
				}
				return respondToPromotion(cmd, g, promo, reject, message)
			}
			if reject || message != "" {
				return errors.New("--reject and --message answer a wait-for-approval step: pass --promotion NAME")
			}
			if stage == "" {
				return errors.New("--stage is required")
			}
			if (freight == "") == (alias == "") {
				return errors.New("pass exactly one of --freight or --freight-alias")
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st := &haulv1.Stage{}
			if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: stage}, st); err != nil {
				return translate(err, opFor("get", kindByKind("Stage"), stage, ns))
			}
			var f *haulv1.Freight
			if alias != "" {
				f, err = findFreightByAlias(ctx, s, ns, alias)
			} else {
				f, err = findFreight(ctx, s, ns, freight)
			}
			if err != nil {
				return err
			}
			if err := canApprove(ctx, s, ns, f.Name); err != nil {
				return err
			}
			rule, err := approvalRule(ctx, s, st)
			if err != nil {
				return err
			}
			if err := recordApproval(ctx, s, f, rule, st.Name); err != nil {
				// Only admins write Freight status; an approver approves through the Haul
				// server, which records the identity it authenticated.
				srv, ferr := forbiddenFallback(err, translate(err, op{verb: "update", kind: "freight", resource: "freights/status", name: f.Name, namespace: ns, host: s.host}))
				if ferr != nil {
					return ferr
				}
				path := "/api/v1/projects/" + url.PathEscape(ns) + "/freight/" + url.PathEscape(f.Name) + "/approve"
				if err := postToServer(ctx, s, srv, path, map[string]string{"stage": stage}, f); err != nil {
					return err
				}
			}
			tally := pipeline.CountApprovals(rule, f.Status.Approvals, st.Name, "")
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Freight %s approved for Stage %s%s\n", freightLabel(f), stage, tallySuffix(rule, tally))
			return err
		},
	}
	cmd.Flags().StringVar(&freight, "freight", "", "Freight name (or alias)")
	cmd.Flags().StringVar(&alias, "freight-alias", "", "Freight alias")
	cmd.Flags().StringVar(&stage, "stage", "", "Stage to approve the Freight for")
	cmd.Flags().StringVar(&promo, "promotion", "", "Promotion whose waiting wait-for-approval step to answer")
	cmd.Flags().BoolVar(&reject, "reject", false, "with --promotion: reject instead of approve")
	cmd.Flags().StringVar(&message, "message", "", "with --promotion: a note recorded with the answer")
	return cmd
}

// respondToPromotion answers the Promotion's waiting wait-for-approval step as the
// kubeconfig's identity: directly where the user may update Promotions (an admin),
// otherwise through the Haul server, which records the identity it authenticated.
func respondToPromotion(cmd *cobra.Command, g *GlobalOptions, name string, reject bool, message string) error {
	s, err := g.connect()
	if err != nil {
		return err
	}
	ns, err := s.requireProject()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	action := pipeline.ActionApprove
	if reject {
		action = pipeline.ActionReject
	}
	p := &haulv1.Promotion{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		return translate(err, opFor("get", kindByKind("Promotion"), name, ns))
	}
	who := &authenticationv1.SelfSubjectReview{}
	if err := s.client.Create(ctx, who); err != nil || who.Status.UserInfo.Username == "" {
		return fmt.Errorf("finding out who you are (SelfSubjectReview): %w", err)
	}
	responder := pipeline.Responder{User: who.Status.UserInfo.Username, Groups: who.Status.UserInfo.Groups}
	// role rules match the Roles the project binds to the caller. Only an admin can
	// list RoleBindings, and only an admin takes this direct path; anybody else is
	// answered by the Haul server, which looks them up itself.
	if roles, err := project.BoundRoles(ctx, s.client, ns, responder.User, responder.Groups); err == nil {
		responder.Roles = roles
	}
	var resp pipeline.StepResponse
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &haulv1.Promotion{}
		if err := s.client.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil {
			return err
		}
		r, err := pipeline.RecordStepResponse(cur, responder, action, message, now())
		if err != nil {
			return err
		}
		resp = r
		return s.client.Update(ctx, cur, client.FieldOwner(fieldManager))
	})
	if err != nil {
		srv, ferr := forbiddenFallback(err, translate(err, op{verb: "update", kind: "promotion", resource: "promotions", name: name, namespace: ns, host: s.host}))
		if ferr != nil {
			return ferr
		}
		path := "/api/v1/projects/" + url.PathEscape(ns) + "/promotions/" + url.PathEscape(name) + "/respond"
		if err := postToServer(ctx, s, srv, path, map[string]string{"action": action, "message": message}, p); err != nil {
			return err
		}
		resp.Action = action
	}
	verb := "approved"
	if resp.Action == pipeline.ActionReject {
		verb = "rejected"
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "Promotion %s %s\n", name, verb)
	return err
}

// tallySuffix says, for a Stage that requires approvals, how many it has: " (1 of 2
// approvals)". Nothing for a Stage that takes one approval as Kargo does.
func tallySuffix(rule *haulv1.ApprovalRequirement, t pipeline.ApprovalTally) string {
	if rule == nil {
		return ""
	}
	return " (" + t.String() + ")"
}

// canApprove asks the API server whether the user holds the verb approve on the Freight.
func canApprove(ctx context.Context, s *session, ns, freight string) error {
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: "approve", Group: haulv1.GroupVersion.Group, Resource: "freights", Name: freight,
		},
	}}
	if err := s.client.Create(ctx, r); err != nil {
		return translate(err, op{verb: "create", kind: "selfsubjectaccessreview", resource: "selfsubjectaccessreviews", host: s.host})
	}
	if !r.Status.Allowed {
		return fmt.Errorf("you may not approve Freight %s in project %s (needs verb approve on freights)", freight, ns)
	}
	return nil
}

// approvalRule reads the Stage's approval requirement: its own, else the project's
// first approval policy that selects it.
func approvalRule(ctx context.Context, s *session, st *haulv1.Stage) (*haulv1.ApprovalRequirement, error) {
	if st.Spec.Approval != nil {
		return st.Spec.Approval, nil
	}
	cfg := &haulv1.ProjectConfig{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Namespace}, cfg); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return nil, nil
		}
		return nil, translate(err, opFor("get", kindByKind("ProjectConfig"), st.Namespace, st.Namespace))
	}
	return pipeline.ApprovalRuleFor(cfg, st), nil
}

// recordApproval writes the user's approval into the Freight's status directly (an
// admin may), as the identity and groups the API server reports for the kubeconfig's
// credentials. f is updated in place.
func recordApproval(ctx context.Context, s *session, f *haulv1.Freight, rule *haulv1.ApprovalRequirement, stage string) error {
	who := &authenticationv1.SelfSubjectReview{}
	if err := s.client.Create(ctx, who); err != nil || who.Status.UserInfo.Username == "" {
		return fmt.Errorf("finding out who you are (SelfSubjectReview): %w", err)
	}
	user, groups := who.Status.UserInfo.Username, who.Status.UserInfo.Groups
	if rule != nil && len(rule.AllowedGroups) > 0 && !slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(rule.AllowedGroups, g) }) {
		return fmt.Errorf("user %q may not approve Freight for Stage %s: approvals count only from the groups %s", user, stage, strings.Join(rule.AllowedGroups, ", "))
	}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &haulv1.Freight{}
		if err := s.client.Get(ctx, client.ObjectKeyFromObject(f), cur); err != nil {
			return err
		}
		if changed, _ := pipeline.RecordApproval(cur, rule, stage, user, groups, now()); changed {
			if err := s.client.Status().Update(ctx, cur, client.FieldOwner(fieldManager)); err != nil {
				return err
			}
		}
		*f = *cur
		return nil
	})
}

func ptrTime(t time.Time) *metav1.Time { v := metav1.NewTime(t.UTC().Truncate(time.Second)); return &v }

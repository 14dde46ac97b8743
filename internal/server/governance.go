package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// approvalRule reads the Stage's approval requirement: its own, or the first project
// approval policy that selects it. The ProjectConfig is read with the server's rights
// (every member may read it anyway); a project without one has no policies.
func (s *Server) approvalRule(ctx context.Context, st *haulv1.Stage) (*haulv1.ApprovalRequirement, error) {
	if st.Spec.Approval != nil {
		return st.Spec.Approval, nil
	}
	cfg := &haulv1.ProjectConfig{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Namespace}, cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fromKube(err)
	}
	return pipeline.ApprovalRuleFor(cfg, st), nil
}

// checkApprovals refuses, with 409, a promotion by u of Freight that lacks the
// approvals the Stage requires ("1 of 2 approvals"); u's own approval does not count
// when the Stage forbids self-approval.
func (s *Server) checkApprovals(ctx context.Context, u *auth.User, f *haulv1.Freight, st *haulv1.Stage) error {
	rule, err := s.approvalRule(ctx, st)
	if err != nil {
		return err
	}
	if ok, why := pipeline.ApprovalGate(f, st, rule, u.Name); !ok {
		return errorf(http.StatusConflict, reasonConflict, "%s", why)
	}
	return nil
}

// approve records u's approval of Freight for a Stage. The caller needs the custom verb
// approve on the Freight; the server writes the approval with its own rights (no
// project role may write Freight status), recording the identity and groups it
// authenticated, never a name from the body. Approving twice counts once.
// status.approvedFor[stage], which makes the Freight available there, is set once the
// Stage's approval requirement (one approval when it has none) is met.
func (s *Server) approve(r *http.Request, u *auth.User) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	var b freightBody
	if err := decodeBody(r, &b); err != nil {
		return 0, nil, err
	}
	if err := required("stage", b.Stage); err != nil {
		return 0, nil, err
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	f, err := s.getFreightAs(ctx, u, c, p, name)
	if err != nil {
		return 0, nil, err
	}
	if err := s.access.check(ctx, u, project.VerbApprove, "freights", "", p, f.Name, "Freight", name, "approve Freight"); err != nil {
		return 0, nil, err
	}
	st, err := s.getStageAs(ctx, u, c, p, b.Stage)
	if err != nil {
		return 0, nil, err
	}
	if pipeline.RequestFor(st, f.Origin) == nil {
		return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid,
			"Stage %s does not request Freight from %s, so Freight %s cannot be approved for it", st.Name, f.Origin, displayName(f))
	}
	rule, err := s.approvalRule(ctx, st)
	if err != nil {
		return 0, nil, err
	}
	if rule != nil && len(rule.AllowedGroups) > 0 && !slices.ContainsFunc(u.Groups, func(g string) bool { return slices.Contains(rule.AllowedGroups, g) }) {
		return 0, nil, errorf(http.StatusForbidden, reasonForbidden,
			"user %q may not approve Freight for Stage %s: approvals count only from the groups %s", u.Name, st.Name, strings.Join(rule.AllowedGroups, ", "))
	}
	var tally pipeline.ApprovalTally
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &haulv1.Freight{}
		if err := s.client.Get(ctx, client.ObjectKeyFromObject(f), cur); err != nil {
			return err
		}
		changed, t := pipeline.RecordApproval(cur, rule, st.Name, u.Name, u.Groups, s.now())
		tally = t
		if changed {
			// Update carries the resourceVersion: two approvals at once cannot drop one.
			if err := s.client.Status().Update(ctx, cur, client.FieldOwner(fieldManager)); err != nil {
				return err
			}
		}
		*f = *cur
		return nil
	})
	if err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Freight", name, "approve Freight")
	}
	s.log.Info("Freight approved", "project", p, "freight", f.Name, "stage", st.Name, "user", u.Name, "approvals", tally.String())
	return http.StatusOK, s.withKind(f), nil
}

// setPaused sets or clears a Stage's spec.paused. The caller needs the custom verb
// pause on the Stage, not update: update would let them rewrite its steps. The write is
// made with the server's rights and touches spec.paused and the actor annotation only.
func (s *Server) setPaused(r *http.Request, u *auth.User, paused bool) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	what := "pause Stages"
	if !paused {
		what = "resume Stages"
	}
	if err := s.access.check(ctx, u, project.VerbPause, "stages", "", p, name, "Stage", name, what); err != nil {
		return 0, nil, err
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.getStageAs(ctx, u, c, p, name)
	if err != nil {
		return 0, nil, err
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{AnnotationActionActor: "api:" + u.Name}},
		"spec":     map[string]any{"paused": paused},
	})
	if err := s.client.Patch(ctx, st, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager)); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Stage", name, what)
	}
	s.log.Info("Stage paused", "project", p, "stage", name, "paused", paused, "user", u.Name)
	return http.StatusOK, s.withKind(st), nil
}

func (s *Server) pauseStage(r *http.Request, u *auth.User) (int, any, error) {
	return s.setPaused(r, u, true)
}

func (s *Server) resumeStage(r *http.Request, u *auth.User) (int, any, error) {
	return s.setPaused(r, u, false)
}

// maxOverrideReason bounds the reason a caller gives for overriding promotion windows.
const maxOverrideReason = 1024

// windowSchedule evaluates the promotion windows (ProjectConfig and ClusterConfig) that
// select the Stage, read with the server's rights.
func (s *Server) windowSchedule(ctx context.Context, st *haulv1.Stage) (pipeline.WindowState, error) {
	cfg := &haulv1.ProjectConfig{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Namespace}, cfg); err != nil {
		if !apierrors.IsNotFound(err) {
			return pipeline.WindowState{}, fromKube(err)
		}
		cfg = nil
	}
	cc := &haulv1.ClusterConfig{}
	if err := s.client.Get(ctx, client.ObjectKey{Name: haulv1.ClusterConfigName}, cc); err != nil {
		if !apierrors.IsNotFound(err) {
			return pipeline.WindowState{}, fromKube(err)
		}
		cc = nil
	}
	var proj *haulv1.Project
	if cc != nil && len(cc.Spec.PromotionWindows) > 0 {
		proj = &haulv1.Project{}
		if err := s.client.Get(ctx, client.ObjectKey{Name: st.Namespace}, proj); err != nil {
			if !apierrors.IsNotFound(err) {
				return pipeline.WindowState{}, fromKube(err)
			}
			proj = nil
		}
	}
	return pipeline.EvaluateWindows(pipeline.WindowsFor(cfg, cc, proj, st), s.now()), nil
}

// checkWindows refuses, with 409, a promotion to a Stage whose promotion windows are
// closed ("promotion window closed until ... (window ...)"), unless the caller gave a
// reason and holds the custom verb override on the Stage: then it returns the
// haul.dev/window-override value that records who let the Promotion through and why.
// A reason given while the windows are open is not recorded: nothing was overridden.
func (s *Server) checkWindows(ctx context.Context, u *auth.User, st *haulv1.Stage, reason string) (string, error) {
	sched, err := s.windowSchedule(ctx, st)
	if err != nil || sched.Open {
		return "", err
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		return "", errorf(http.StatusConflict, reasonConflict, "%s", sched.Reason())
	}
	if len(reason) > maxOverrideReason {
		return "", errorf(http.StatusBadRequest, reasonBadRequest, "overrideReason: at most %d characters, got %d", maxOverrideReason, len(reason))
	}
	if err := s.access.check(ctx, u, "override", "stages", "", st.Namespace, st.Name, "Stage", st.Name,
		"override the promotion windows of Stage "+st.Name); err != nil {
		return "", err
	}
	return pipeline.WindowOverride("api:"+u.Name, reason), nil
}

// respondBody is the answer to a Promotion's waiting wait-for-approval step.
type respondBody struct {
	// Action is approve or reject.
	Action string `json:"action"`
	// Message is an optional note, shown with the answer (and as the reason of a
	// rejection).
	Message string `json:"message"`
}

// respondToPromotion records the caller's answer to the Promotion's waiting
// wait-for-approval step. Anyone who can read the Promotion may answer a step without
// approvers (Kargo's rule); otherwise the caller must match one of its rules. The
// Promotion controller's watch wakes the step at once.
func (s *Server) respondToPromotion(r *http.Request, u *auth.User) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	var b respondBody
	if err := decodeBody(r, &b); err != nil {
		return 0, nil, err
	}
	if err := required("action", b.Action); err != nil {
		return 0, nil, err
	}
	if len(b.Message) > 1024 {
		return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "message is %d bytes long; at most 1024", len(b.Message))
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	seen := &haulv1.Promotion{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: name}, seen); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Promotion", name, "read Promotion")
	}
	roles, err := project.BoundRoles(ctx, s.client, p, u.Name, u.Groups)
	if err != nil {
		// Only role rules need them; without them such rules match nobody.
		s.log.Error(err, "Reading the caller's project roles for wait-for-approval", "project", p)
	}
	who := pipeline.Responder{User: u.Name, Groups: u.Groups, Roles: roles}
	var resp pipeline.StepResponse
	var refused error
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &haulv1.Promotion{}
		if err := s.client.Get(ctx, client.ObjectKeyFromObject(seen), cur); err != nil {
			return err
		}
		before := cur.DeepCopy()
		if resp, refused = pipeline.RecordStepResponse(cur, who, b.Action, b.Message, s.now()); refused != nil {
			return nil
		}
		// A merge patch that carries the resourceVersion: two answers at once cannot
		// drop one, and the server needs only patch on Promotions (as the chart grants).
		lock := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
		if err := s.client.Patch(ctx, cur, lock, client.FieldOwner(fieldManager)); err != nil {
			return err
		}
		*seen = *cur
		return nil
	})
	switch {
	case err != nil:
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Promotion", name, "answer Promotion")
	case errors.Is(refused, pipeline.ErrNotWaiting):
		return 0, nil, errorf(http.StatusConflict, reasonConflict, "%v", refused)
	case errors.Is(refused, pipeline.ErrNotApprover):
		return 0, nil, errorf(http.StatusForbidden, reasonForbidden, "%v", refused)
	case refused != nil:
		return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "%v", refused)
	}
	s.log.Info("Promotion answered", "project", p, "promotion", name, "step", resp.Step, "user", u.Name, "action", resp.Action)
	return http.StatusOK, s.withKind(seen), nil
}

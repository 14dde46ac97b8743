package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion"
)

// aliasPattern is the Freight alias format enforced by the CRD schema.
var aliasPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// displayName is how messages name Freight: by alias when it has one.
func displayName(f *haulv1.Freight) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// freightBody is the body of promote, promote-downstream and approve.
type freightBody struct {
	Freight string `json:"freight"`
	Stage   string `json:"stage"`
	// OverrideReason lets a promotion through closed promotion windows, for a caller
	// with the override verb on the Stage; it is recorded on the Promotion.
	OverrideReason string `json:"overrideReason"`
}

// getFreightAs reads Freight by name or, failing that, by alias.
func (s *Server) getFreightAs(ctx context.Context, u *auth.User, c client.Client, p, ref string) (*haulv1.Freight, error) {
	f := &haulv1.Freight{}
	err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: ref}, f)
	if err == nil {
		return f, nil
	}
	if client.IgnoreNotFound(err) != nil || !aliasPattern.MatchString(ref) {
		return nil, s.access.kubeErr(ctx, u, err, p, "Freight", ref, "read Freight")
	}
	var l haulv1.FreightList
	if err := c.List(ctx, &l, client.InNamespace(p), client.MatchingLabels{haulv1.LabelAlias: ref}); err != nil {
		return nil, s.access.kubeErr(ctx, u, err, p, "Freight", ref, "list Freight")
	}
	if len(l.Items) != 1 {
		return nil, notFound("Freight", ref, p)
	}
	return &l.Items[0], nil
}

func (s *Server) getStageAs(ctx context.Context, u *auth.User, c client.Client, p, name string) (*haulv1.Stage, error) {
	st := &haulv1.Stage{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: name}, st); err != nil {
		return nil, s.access.kubeErr(ctx, u, err, p, "Stage", name, "read Stage")
	}
	return st, nil
}

// checkPromote requires the custom verb promote on the named Stage.
func (s *Server) checkPromote(ctx context.Context, u *auth.User, p, stage string) error {
	return s.access.check(ctx, u, "promote", "stages", "", p, stage, "Stage", stage, "promote to Stage "+stage)
}

// newPromotion is the Promotion the API creates for u.
// override, when set, is its haul.dev/window-override annotation.
func newPromotion(p string, st *haulv1.Stage, f *haulv1.Freight, u *auth.User, override string) *haulv1.Promotion {
	promo := promotion.New(st, f.Name, "api:"+u.Name)
	if override != "" {
		promo.Annotations[haulv1.AnnotationWindowOverride] = override
	}
	return promo
}

func notAvailable(f *haulv1.Freight, stage, why string) *apiError {
	return errorf(http.StatusConflict, reasonConflict, "Freight %s is not available to Stage %s: %s", displayName(f), stage, why)
}

// promote creates a Promotion of the body's Freight to the Stage, as the caller.
func (s *Server) promote(r *http.Request, u *auth.User) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	var b freightBody
	if err := decodeBody(r, &b); err != nil {
		return 0, nil, err
	}
	if err := required("freight", b.Freight); err != nil {
		return 0, nil, err
	}
	if err := s.checkPromote(ctx, u, p, name); err != nil {
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
	f, err := s.getFreightAs(ctx, u, c, p, b.Freight)
	if err != nil {
		return 0, nil, err
	}
	if ok, why := pipeline.IsAvailable(f, st, s.now()); !ok {
		return 0, nil, notAvailable(f, st.Name, why)
	}
	if err := s.checkApprovals(ctx, u, f, st); err != nil {
		return 0, nil, err
	}
	override, err := s.checkWindows(ctx, u, st, b.OverrideReason)
	if err != nil {
		return 0, nil, err
	}
	promo := newPromotion(p, st, f, u, override)
	if err := c.Create(ctx, promo); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Stage", name, "create Promotions")
	}
	return http.StatusCreated, s.withKind(promo), nil
}

// promoteDownstream promotes Freight to every Stage that takes it from this one and to
// which it is available. It checks the caller may promote to all of them first, so it
// never promotes to only the permitted part of the pipeline.
func (s *Server) promoteDownstream(r *http.Request, u *auth.User) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	var b freightBody
	if err := decodeBody(r, &b); err != nil {
		return 0, nil, err
	}
	if err := required("freight", b.Freight); err != nil {
		return 0, nil, err
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	if _, err := s.getStageAs(ctx, u, c, p, name); err != nil {
		return 0, nil, err
	}
	f, err := s.getFreightAs(ctx, u, c, p, b.Freight)
	if err != nil {
		return 0, nil, err
	}
	var stages haulv1.StageList
	if err := c.List(ctx, &stages, client.InNamespace(p)); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Stage", name, "list Stages")
	}
	var downstream []*haulv1.Stage
	for i := range stages.Items {
		req := pipeline.RequestFor(&stages.Items[i], f.Origin)
		if req == nil {
			continue
		}
		for _, up := range req.Sources.Stages {
			if up == name {
				downstream = append(downstream, &stages.Items[i])
				break
			}
		}
	}
	for _, ds := range downstream {
		if err := s.checkPromote(ctx, u, p, ds.Name); err != nil {
			return 0, nil, err
		}
	}
	out := list[client.Object]{Items: []client.Object{}}
	var refused *apiError
	now := s.now()
	for _, ds := range downstream {
		if ok, why := pipeline.IsAvailable(f, ds, now); !ok {
			if refused == nil {
				refused = notAvailable(f, ds.Name, why)
			}
			continue
		}
		override, err := s.checkGates(ctx, u, f, ds, b.OverrideReason)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != http.StatusConflict {
				return 0, nil, err
			}
			if refused == nil {
				refused = ae
			}
			continue
		}
		promo := newPromotion(p, ds, f, u, override)
		if err := c.Create(ctx, promo); err != nil {
			return 0, nil, s.access.kubeErr(ctx, u, err, p, "Stage", ds.Name, "create Promotions")
		}
		out.Items = append(out.Items, s.withKind(promo))
	}
	if len(out.Items) == 0 && refused != nil {
		return 0, nil, refused
	}
	return http.StatusCreated, out, nil
}

// checkGates applies the approval requirement and the promotion windows of ds.
func (s *Server) checkGates(ctx context.Context, u *auth.User, f *haulv1.Freight, ds *haulv1.Stage, reason string) (string, error) {
	if err := s.checkApprovals(ctx, u, f, ds); err != nil {
		return "", err
	}
	return s.checkWindows(ctx, u, ds, reason)
}

// setAlias renames Freight, keeping the label in step and aliases unique in the project.
func (s *Server) setAlias(r *http.Request, u *auth.User) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	var b struct {
		Alias string `json:"alias"`
	}
	if err := decodeBody(r, &b); err != nil {
		return 0, nil, err
	}
	if err := required("alias", b.Alias); err != nil {
		return 0, nil, err
	}
	if len(b.Alias) > 63 || !aliasPattern.MatchString(b.Alias) {
		return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid,
			"alias %q is invalid: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", b.Alias)
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	f := &haulv1.Freight{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: name}, f); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Freight", name, "read Freight")
	}
	var all haulv1.FreightList
	if err := c.List(ctx, &all, client.InNamespace(p)); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Freight", name, "list Freight")
	}
	for _, o := range all.Items {
		if o.Name != f.Name && (o.Alias == b.Alias || o.Labels[haulv1.LabelAlias] == b.Alias) {
			return 0, nil, errorf(http.StatusConflict, reasonConflict, "alias %q is already used by Freight %s in project %q", b.Alias, o.Name, p)
		}
	}
	patch, _ := json.Marshal(map[string]any{
		"alias":    b.Alias,
		"metadata": map[string]any{"labels": map[string]string{haulv1.LabelAlias: b.Alias}},
	})
	if err := c.Patch(ctx, f, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, "Freight", name, "change Freight aliases")
	}
	return http.StatusOK, s.withKind(f), nil
}

// AnnotationActionActor records, next to an action annotation the server wrote, who
// asked for it ("api:<user>"): the write itself is made with the server's rights.
const AnnotationActionActor = haulv1.AnnotationActionActor

// action is one annotation-setting action: the custom verb the caller needs on the
// object, the annotation the controllers act on, and how a refusal names it.
type action struct {
	kind     string
	resource string
	verb     string
	key      string
	what     string
}

var (
	actAbortPromotion    = action{"Promotion", "promotions", project.VerbAbort, haulv1.AnnotationAbort, "abort Promotions"}
	actRefreshWarehouse  = action{"Warehouse", "warehouses", project.VerbRefresh, haulv1.AnnotationRefresh, "refresh Warehouses"}
	actRefreshStage      = action{"Stage", "stages", project.VerbRefresh, haulv1.AnnotationRefresh, "refresh Stages"}
	actReverify          = action{"Stage", "stages", project.VerbReverify, haulv1.AnnotationReverify, "reverify Stages"}
	actAbortVerification = action{"Stage", "stages", project.VerbAbort, haulv1.AnnotationAbort, "abort verifications"}
)

// annotate sets an annotation to the current time on an object; the controllers act on
// a changed value. The caller needs the action's custom verb on the object, not patch:
// patch would let them rewrite the object's spec. The write is made with the server's
// own rights, touches nothing but the action's annotation and the actor annotation,
// and records who asked.
func (s *Server) annotate(r *http.Request, u *auth.User, act action, obj client.Object) (int, any, error) {
	ctx, p, name := r.Context(), r.PathValue("p"), r.PathValue("name")
	if err := s.access.check(ctx, u, act.verb, act.resource, "", p, name, act.kind, name, act.what); err != nil {
		return 0, nil, err
	}
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	// Read as the caller first, so a missing object answers like any other read.
	if err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: name}, obj); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, act.kind, name, act.what)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{
			act.key:               s.now().UTC().Format(time.RFC3339Nano),
			AnnotationActionActor: "api:" + u.Name,
		},
	}})
	// Without a resourceVersion precondition a merge patch of a missing object fails
	// with NotFound, never creates it.
	if err := s.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager)); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, act.kind, name, act.what)
	}
	s.log.Info("Action requested", "project", p, "kind", act.kind, "name", name, "annotation", act.key, "user", u.Name)
	return http.StatusOK, s.withKind(obj), nil
}

func (s *Server) abortPromotion(r *http.Request, u *auth.User) (int, any, error) {
	return s.annotate(r, u, actAbortPromotion, &haulv1.Promotion{})
}

func (s *Server) refreshWarehouse(r *http.Request, u *auth.User) (int, any, error) {
	return s.annotate(r, u, actRefreshWarehouse, &haulv1.Warehouse{})
}

func (s *Server) refreshStage(r *http.Request, u *auth.User) (int, any, error) {
	return s.annotate(r, u, actRefreshStage, &haulv1.Stage{})
}

func (s *Server) reverify(r *http.Request, u *auth.User) (int, any, error) {
	return s.annotate(r, u, actReverify, &haulv1.Stage{})
}

func (s *Server) abortVerification(r *http.Request, u *auth.User) (int, any, error) {
	return s.annotate(r, u, actAbortVerification, &haulv1.Stage{})
}

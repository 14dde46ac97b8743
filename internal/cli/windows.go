package cli

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// windowClosedError refuses a promotion to a Stage whose promotion windows are closed
// when no override reason was given.
type windowClosedError struct{ reason string }

func (e *windowClosedError) Error() string {
	return e.reason + "\npass --override-reason to promote anyway (needs verb override on the Stage)"
}

// windowGate applies the promotion windows (the project's and the cluster's) to a
// promotion by this user. While they are open it returns "". While closed it refuses,
// unless reason is given and the user holds the custom verb override on the Stage: then
// it returns the haul.dev/window-override value recording who let it through and why.
// A ClusterConfig the user may not read is left to the Promotion controller, which
// holds the Promotion Pending while a cluster window is closed.
func windowGate(ctx context.Context, s *session, st *haulv1.Stage, reason string) (string, error) {
	read := func(kind string, key client.ObjectKey, obj client.Object) (bool, error) {
		switch err := s.client.Get(ctx, key, obj); {
		case err == nil:
			return true, nil
		case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
			return false, nil
		default:
			return false, translate(err, opFor("get", kindByKind(kind), key.Name, key.Namespace))
		}
	}
	cfg, cc, proj := &haulv1.ProjectConfig{}, &haulv1.ClusterConfig{}, &haulv1.Project{}
	if ok, err := read("ProjectConfig", client.ObjectKey{Namespace: st.Namespace, Name: st.Namespace}, cfg); err != nil {
		return "", err
	} else if !ok {
		cfg = nil
	}
	if ok, err := read("ClusterConfig", client.ObjectKey{Name: haulv1.ClusterConfigName}, cc); err != nil {
		return "", err
	} else if !ok {
		cc = nil
	}
	if ok, err := read("Project", client.ObjectKey{Name: st.Namespace}, proj); err != nil {
		return "", err
	} else if !ok {
		proj = nil
	}
	sched := pipeline.EvaluateWindows(pipeline.WindowsFor(cfg, cc, proj, st), now())
	if sched.Open {
		return "", nil
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		return "", &windowClosedError{reason: sched.Reason()}
	}
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: st.Namespace, Verb: "override", Group: haulv1.GroupVersion.Group, Resource: "stages", Name: st.Name,
		},
	}}
	if err := s.client.Create(ctx, r); err != nil {
		return "", translate(err, op{verb: "create", kind: "selfsubjectaccessreview", resource: "selfsubjectaccessreviews", host: s.host})
	}
	if !r.Status.Allowed {
		return "", fmt.Errorf("you may not override the promotion windows of stage %s in project %s (needs verb override on stages)", st.Name, st.Namespace)
	}
	return pipeline.WindowOverride("cli:"+s.whoAmI(ctx), reason), nil
}

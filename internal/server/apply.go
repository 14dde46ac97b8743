package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/kargo"
	"github.com/haul-dev/haul/internal/manifest"
	"github.com/haul-dev/haul/internal/server/auth"
	"github.com/haul-dev/haul/pkg/pipeline"
	"github.com/haul-dev/haul/promotion/steps"
)

const (
	// fieldManager owns the fields Haul applies, as kubectl does for its own.
	fieldManager = "haul"
	// maxApplyDocs bounds how many objects one apply may send; Limits.MaxApplyBytes
	// bounds its size.
	maxApplyDocs = 1000
)

// applyResult reports what happened to one object.
type applyResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Action is created, configured or unchanged.
	Action string `json:"action"`
}

// apply server-side applies a multi-document YAML stream as the caller. It parses every
// document before writing any, and stops at the first object the API server refuses,
// so later objects are never written when an earlier one (a Project owned by someone
// else, say) fails. The admin token applies with the server's rights; everybody else
// is impersonated and never gains rights they lack.
func (s *Server) apply(r *http.Request, u *auth.User) (int, any, error) {
	ctx := r.Context()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, nil, bodyError("apply body", err)
	}
	objs, err := parseManifests(b)
	if err != nil {
		return 0, nil, err
	}
	mapper := s.client.RESTMapper()
	defaultNS := r.URL.Query().Get("project")
	for i, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d (%s %s): unknown apiVersion/kind %s", i+1, gvk.Kind, o.GetName(), gvk.GroupVersion().String()+"/"+gvk.Kind)
			}
			return 0, nil, fromKube(err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				if defaultNS == "" {
					return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d (%s %s): metadata.namespace is required (or pass ?project=)", i+1, gvk.Kind, o.GetName())
				}
				o.SetNamespace(defaultNS)
			}
		} else if o.GetNamespace() != "" {
			return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d (%s %s): metadata.namespace must be empty for a cluster-scoped kind", i+1, gvk.Kind, o.GetName())
		}
	}
	// Promotion windows the controllers could not parse would freeze their Stages:
	// refuse them before anything is applied, as `haul apply` does.
	for i, o := range objs {
		if err := validateWindows(o); err != nil {
			return 0, nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d (%s %s): %v (nothing was applied)", i+1, o.GetKind(), o.GetName(), err)
		}
	}
	// Creating a Promotion is promoting: it needs the promote verb whichever path it takes.
	for i, o := range objs {
		if o.GroupVersionKind().Group != haulv1.GroupVersion.Group || o.GetKind() != "Promotion" {
			continue
		}
		stage, _, _ := unstructured.NestedString(o.Object, "spec", "stage")
		if err := s.checkPromote(ctx, u, o.GetNamespace(), stage); err != nil {
			var e *apiError
			if errors.As(err, &e) {
				e.Message = fmt.Sprintf("document %d (Promotion %s): %s (nothing was applied)", i+1, o.GetName(), e.Message)
			}
			return 0, nil, err
		}
	}
	// The checks `haul apply` makes before writing anything: strict fields, the schema,
	// expressions type-checked, known steps, stage references and cycles.
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	warnings, err := s.validateSet(ctx, c, objs)
	if err != nil {
		return 0, nil, err
	}
	results := []applyResult{}
	newProjects := map[string]bool{}
	for i, o := range objs {
		res := applyResult{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		before := &unstructured.Unstructured{}
		before.SetGroupVersionKind(o.GroupVersionKind())
		beforeRV := ""
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), before); err == nil {
			beforeRV = before.GetResourceVersion()
		}
		rv, err := s.applyOne(ctx, c, o, newProjects)
		if err != nil {
			e := fromKube(err)
			e.Message = fmt.Sprintf("document %d (%s %s): %s%s", i+1, res.Kind, qualified(res), e.Message, appliedSoFar(results))
			return 0, nil, e
		}
		switch {
		case beforeRV == "":
			res.Action = "created"
		case rv == beforeRV:
			res.Action = "unchanged"
		default:
			res.Action = "configured"
		}
		results = append(results, res)
		if o.GroupVersionKind().Group == haulv1.GroupVersion.Group && o.GetKind() == "Project" {
			newProjects[o.GetName()] = true
		}
	}
	body := map[string]any{"results": results}
	if len(warnings) > 0 {
		body["warnings"] = warnings
	}
	return http.StatusOK, body, nil
}

// validateSet runs manifest.Validate over the set, against what the caller can read
// of the cluster, so the dashboard refuses what `haul apply` refuses, in its words.
func (s *Server) validateSet(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) ([]string, error) {
	created := map[string]bool{}
	for _, o := range objs {
		if o.GroupVersionKind().Group == haulv1.GroupVersion.Group && o.GetKind() == "Project" {
			created[o.GetName()] = true
		}
	}
	docs := manifest.FromObjects("document", objs)
	// A namespace the caller may not read is left unchecked: the apply is refused
	// there anyway, naming each object.
	reg := steps.Builtin()
	cluster, err := manifest.ReadCluster(ctx, c, docs, manifest.ReadOptions{
		Steps: reg.Names(), StepOutputs: reg.OutputKeys, Exists: func(ns string) bool { return !created[ns] }, SkipForbidden: true})
	if err != nil {
		var le *manifest.ListError
		if errors.As(err, &le) {
			e := fromKube(le.Err)
			e.Message = fmt.Sprintf("reading the %ss in %s to check the set: %s (nothing was applied)", le.Kind, le.Namespace, e.Message)
			return nil, e
		}
		return nil, err
	}
	warnings, err := manifest.Validate(docs, cluster)
	var ve *manifest.ValidationError
	if errors.As(err, &ve) {
		return warnings, errorf(http.StatusUnprocessableEntity, reasonInvalid, "%s (nothing was applied)", ve.Error())
	}
	return warnings, err
}

// namespaceWait bounds how long an object waits for the namespace of a Project applied
// earlier in the same request, which the Project controller creates.
const namespaceWait = 20 * time.Second

// applyOne server-side applies o. When o's namespace belongs to a Project applied
// earlier in this request, it waits for the Project controller to create it, so that a
// whole project can be applied in one file.
// It returns the resourceVersion after the apply.
func (s *Server) applyOne(ctx context.Context, c client.Client, o *unstructured.Unstructured, newProjects map[string]bool) (string, error) {
	deadline := time.Now().Add(namespaceWait)
	for {
		cp := o.DeepCopy()
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(cp), client.FieldOwner(fieldManager), client.ForceOwnership)
		if err == nil {
			return cp.GetResourceVersion(), nil
		}
		if !newProjects[o.GetNamespace()] || !isNamespaceNotFound(err) || time.Now().After(deadline) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || !apierrors.IsNotFound(err) {
		return false
	}
	d := se.Status().Details
	return d != nil && d.Kind == "namespaces"
}

func qualified(r applyResult) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

func appliedSoFar(rs []applyResult) string {
	if len(rs) == 0 {
		return " (nothing was applied)"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Kind + " " + qualified(r) + " " + r.Action
	}
	return " (before it: " + strings.Join(names, ", ") + ")"
}

// parseManifests splits a YAML (or JSON) stream into objects, naming the document
// that does not parse.
func parseManifests(b []byte) ([]*unstructured.Unstructured, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []*unstructured.Unstructured
	for n := 1; ; n++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("document %d: %s", n, err.Error())
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, badRequest("document %d is not valid YAML: %s", n, err.Error())
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(j); err != nil {
			return nil, badRequest("document %d: %s", n, err.Error())
		}
		if o.GetName() == "" {
			return nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d (%s): metadata.name is required", n, o.GetKind())
		}
		if o.IsList() {
			return nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "document %d: kind %s is a list; send its items as separate documents", n, o.GetKind())
		}
		out = append(out, o)
		if len(out) > maxApplyDocs {
			return nil, errorf(http.StatusRequestEntityTooLarge, reasonBadRequest, "more than %d documents in one apply", maxApplyDocs)
		}
	}
	if len(out) == 0 {
		return nil, badRequest("request body holds no objects")
	}
	return convertKargo(out)
}

// convertKargo turns Kargo manifests into Haul's, as `haul apply` does, so that the
// dashboard accepts the same files as the CLI.
func convertKargo(objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	maps := make([]kargo.Object, len(objs))
	for i, o := range objs {
		maps[i] = o.Object
	}
	res, err := kargo.ConvertAll(maps)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, reasonInvalid, "converting Kargo manifests: %s", err.Error())
	}
	out := make([]*unstructured.Unstructured, len(res))
	for i, r := range res {
		out[i] = &unstructured.Unstructured{Object: r.Object}
	}
	return out, nil
}

// validateWindows parses the spec.promotionWindows of a ProjectConfig or ClusterConfig.
func validateWindows(o *unstructured.Unstructured) error {
	if o.GroupVersionKind().Group != haulv1.GroupVersion.Group || (o.GetKind() != "ProjectConfig" && o.GetKind() != "ClusterConfig") {
		return nil
	}
	raw, found, err := unstructured.NestedSlice(o.Object, "spec", "promotionWindows")
	if err != nil || !found {
		return err
	}
	var spec struct {
		Windows []haulv1.PromotionWindow `json:"promotionWindows"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{"promotionWindows": raw}, &spec); err != nil {
		return fmt.Errorf("spec.promotionWindows: %w", err)
	}
	return pipeline.ValidateWindows("spec.promotionWindows", spec.Windows)
}

package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// kargoRenderFuncs are Kargo's rendering helpers. Kargo computes each as text wrapped
// in quotes that its template coercion then strips; Haul keeps a whole-value result's
// type, so each returns the text Kargo's pipeline ends with.
func kargoRenderFuncs() map[string]ExprFunc {
	return map[string]ExprFunc{
		// unsafeQuote renders any value as JSON, so a string keeps visible quotes.
		"unsafeQuote": oneArg("unsafeQuote", func(v any) (any, error) {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}),
		// asJSON renders pretty JSON (two-space indent) with a trailing newline.
		"asJSON": oneArg("asJSON", func(v any) (any, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return nil, err
			}
			return string(b) + "\n", nil
		}),
		// asYAML renders YAML the way Kargo's yaml.v3 encoder does.
		"asYAML": oneArg("asYAML", func(v any) (any, error) {
			b, err := yaml.Marshal(v)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}),
	}
}

func oneArg(name string, fn func(any) (any, error)) ExprFunc {
	return func(args ...any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 argument, got %d", name, len(args))
		}
		out, err := fn(args[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
}

// stepStatus is Kargo's status(alias): the status of the earlier step with that alias
// in the same task as the current step (or outside any task when it is), and "" when
// there is none.
func stepStatus(earlier []haulv1.StepExecutionMetadata, current, alias string) string {
	ns := taskAlias(current)
	for _, m := range earlier {
		short := m.Alias
		if t := taskAlias(m.Alias); t != "" {
			short = strings.TrimPrefix(m.Alias, t+TaskSeparator)
		}
		if taskAlias(m.Alias) == ns && short == alias {
			return string(m.Status)
		}
	}
	return ""
}

var (
	freightResource = schema.GroupVersionResource{Group: haulv1.GroupVersion.Group, Version: haulv1.GroupVersion.Version, Resource: "freights"}
	stageResource   = schema.GroupVersionResource{Group: haulv1.GroupVersion.Group, Version: haulv1.GroupVersion.Version, Resource: "stages"}
)

func (e *Engine) uiBaseURL() string {
	if e.Services == nil {
		return ""
	}
	return e.Services.UIBaseURL
}

// kargoDataFuncs are Kargo's functions that read the cluster: Freight and Stage
// metadata, Freight status, the shared resources namespace, and artifactFrom. They read
// only the Promotion's own project namespace, except sharedSecret and sharedConfigMap,
// which read the one shared namespace the operator configured.
func (e *Engine) kargoDataFuncs(ctx context.Context, req *Request) map[string]ExprFunc {
	return map[string]ExprFunc{
		"freightMetadata": nameArg("freightMetadata", "freight ref name", func(name string) (any, error) {
			obj, err := e.getProjectObject(ctx, freightResource, req.Project, name)
			if obj == nil || err != nil {
				return nil, err
			}
			return nestedMap(obj, "status", "metadata"), nil
		}),
		"freightStatus": nameArg("freightStatus", "freight ref name", func(name string) (any, error) {
			obj, err := e.getProjectObject(ctx, freightResource, req.Project, name)
			if obj == nil || err != nil {
				return nil, err
			}
			if st := nestedMap(obj, "status"); st != nil {
				return st, nil
			}
			return map[string]any{}, nil
		}),
		"stageMetadata": nameArg("stageMetadata", "stage name", func(name string) (any, error) {
			obj, err := e.getProjectObject(ctx, stageResource, req.Project, name)
			if obj == nil || err != nil {
				return nil, err
			}
			return nestedMap(obj, "status", "metadata"), nil
		}),
		"sharedSecret": nameArg("sharedSecret", "name", func(name string) (any, error) {
			ns, err := e.sharedNamespace("sharedSecret", name)
			if err != nil {
				return nil, err
			}
			return e.readSecret(ctx, req.Secrets.Values(), ns, name, "sharedSecret")
		}),
		"sharedConfigMap": nameArg("sharedConfigMap", "name", func(name string) (any, error) {
			ns, err := e.sharedNamespace("sharedConfigMap", name)
			if err != nil {
				return nil, err
			}
			return e.readConfigMap(ctx, ns, name, "sharedConfigMap")
		}),
		"artifactFrom": func(args ...any) (any, error) {
			if len(args) == 0 || len(args) > 2 {
				return nil, fmt.Errorf("artifactFrom: expected 1-2 arguments, got %d", len(args))
			}
			sub, err := stringArg("artifactFrom", args, 0)
			if err != nil {
				return nil, err
			}
			if err := checkOrigin(req.Freight, args, 1); err != nil {
				return nil, err
			}
			// Haul's Warehouses subscribe to images, Git and charts only; Kargo's
			// generic (subscription-named) artifacts never appear in Haul Freight.
			return nil, fmt.Errorf("artifactFrom(%q): the Freight has no artifact from that subscription (Haul Warehouses have no generic artifact subscriptions)", sub)
		},
	}
}

// nameArg wraps a function of one non-empty string argument with Kargo's checks.
func nameArg(fn, what string, f func(string) (any, error)) ExprFunc {
	return func(args ...any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s: expected 1 argument, got %d", fn, len(args))
		}
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: argument must be string, got %T", fn, args[0])
		}
		if s == "" {
			return nil, fmt.Errorf("%s: %s must not be empty", fn, what)
		}
		out, err := f(s)
		if err != nil {
			return nil, fmt.Errorf("%s(%q): %w", fn, s, err)
		}
		return out, nil
	}
}

// getProjectObject reads one Haul object in the project namespace, uncached (metadata
// written by set-metadata a moment ago must be seen). Not found is (nil, nil), as in
// Kargo.
func (e *Engine) getProjectObject(ctx context.Context, gvr schema.GroupVersionResource, project, name string) (map[string]any, error) {
	if strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("only objects in the project's own namespace may be read")
	}
	if e.Services == nil || e.Services.Dynamic == nil {
		return nil, errNoServices
	}
	u, err := e.Services.Dynamic.Resource(gvr).Namespace(project).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %q: %w", gvr.Resource, name, err)
	}
	return u.Object, nil
}

// nestedMap returns the map at path, decoded as Kargo decodes Freight and Stage
// metadata (encoding/json into any: every number is a float64).
func nestedMap(obj map[string]any, path ...string) map[string]any {
	m, ok, err := unstructured.NestedMap(obj, path...)
	if !ok || err != nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

func (e *Engine) sharedNamespace(fn, name string) (string, error) {
	if e.Services == nil || e.Services.SharedNamespace == "" {
		return "", fmt.Errorf("%s(%q): no shared resources namespace is configured (haul serve --shared-credentials-namespace)", fn, name)
	}
	return e.Services.SharedNamespace, nil
}

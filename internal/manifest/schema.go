package manifest

import (
	"fmt"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/haul-dev/haul/charts/haul/crds"
)

// schemas holds one OpenAPI validator per Haul kind, built from the embedded CRDs, so a
// bad enum, pattern or bound is caught before anything is sent to the server.
var schemas = sync.OnceValues(func() (map[string]validation.SchemaValidator, error) {
	list, err := crds.CRDs()
	if err != nil {
		return nil, err
	}
	out := map[string]validation.SchemaValidator{}
	for _, crd := range list {
		for _, v := range crd.Spec.Versions {
			if v.Name != "v1alpha1" || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			internal := &apiextensions.JSONSchemaProps{}
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
				return nil, fmt.Errorf("converting schema of %s: %w", crd.Name, err)
			}
			val, _, err := validation.NewSchemaValidator(internal)
			if err != nil {
				return nil, fmt.Errorf("building validator for %s: %w", crd.Name, err)
			}
			out[crd.Spec.Names.Kind] = val
		}
	}
	return out, nil
})

// schemaErrors validates obj against the CRD schema of kind.
func schemaErrors(kind string, obj map[string]any) ([]string, error) {
	vals, err := schemas()
	if err != nil {
		return nil, err
	}
	v, ok := vals[kind]
	if !ok {
		return nil, nil
	}
	var out []string
	for _, e := range validation.ValidateCustomResource(field.NewPath(""), obj, v) {
		out = append(out, fieldError(e))
	}
	return out, nil
}

// fieldError renders a field.Error as "path: message" without the leading dot the empty
// root path leaves behind.
func fieldError(e *field.Error) string {
	path := strings.TrimPrefix(strings.TrimPrefix(e.Field, "[]"), ".")
	// kube-openapi repeats the path inside the detail ("x.y in body should be ...").
	msg := strings.ReplaceAll(e.ErrorBody(), path+" in body ", "")
	return path + ": " + msg
}

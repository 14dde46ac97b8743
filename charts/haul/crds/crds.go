// Package crds embeds Haul's generated CustomResourceDefinitions and the admission
// policies that ship with them, so the binary can install or upgrade them itself.
package crds

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// CRDs returns every Haul CRD, sorted by name.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	names, err := fs.Glob(files, "haul.dev_*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return nil, fmt.Errorf("parsing embedded %s: %w", n, err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// Policies returns the ValidatingAdmissionPolicies (and their bindings) that enforce
// rules a CRD schema cannot express, such as a ProjectConfig's name equalling its namespace.
func Policies() ([]*admissionv1.ValidatingAdmissionPolicy, []*admissionv1.ValidatingAdmissionPolicyBinding, error) {
	b, err := files.ReadFile("policies.yaml")
	if err != nil {
		return nil, nil, err
	}
	var pols []*admissionv1.ValidatingAdmissionPolicy
	var binds []*admissionv1.ValidatingAdmissionPolicyBinding
	for _, doc := range splitYAML(b) {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, err
		}
		switch meta.Kind {
		case "ValidatingAdmissionPolicy":
			p := &admissionv1.ValidatingAdmissionPolicy{}
			if err := yaml.UnmarshalStrict(doc, p); err != nil {
				return nil, nil, err
			}
			pols = append(pols, p)
		case "ValidatingAdmissionPolicyBinding":
			p := &admissionv1.ValidatingAdmissionPolicyBinding{}
			if err := yaml.UnmarshalStrict(doc, p); err != nil {
				return nil, nil, err
			}
			binds = append(binds, p)
		case "":
		default:
			return nil, nil, fmt.Errorf("policies.yaml: unexpected kind %q", meta.Kind)
		}
	}
	return pols, binds, nil
}

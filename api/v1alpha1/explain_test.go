package v1alpha1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/discovery"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// openAPISchema is the part of an OpenAPI v3 schema `kubectl explain` reads.
type openAPISchema struct {
	Description          string                   `json:"description"`
	Properties           map[string]openAPISchema `json:"properties"`
	Items                *openAPISchema           `json:"items"`
	AdditionalProperties json.RawMessage          `json:"additionalProperties"`
}

// TestKubectlExplainDescribesEveryField reads the OpenAPI v3 document the API server
// publishes for haul.dev/v1alpha1 (what `kubectl explain` shows) and fails for every
// kind or property of a Haul CRD that has no description.
func TestKubectlExplainDescribesEveryField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var crdList apiextensionsv1.CustomResourceDefinitionList
	if err := env.Client.List(ctx, &crdList); err != nil {
		t.Fatalf("listing CRDs: %v", err)
	}
	var kinds []string
	for _, crd := range crdList.Items {
		if crd.Spec.Group == haulv1.GroupVersion.Group {
			kinds = append(kinds, crd.Spec.Names.Kind)
		}
	}
	sort.Strings(kinds)
	if len(kinds) < 8 {
		t.Fatalf("found %d Haul CRDs installed (%v), want all 8", len(kinds), kinds)
	}

	schemas := publishedSchemas(ctx, t, kinds)
	var missing []string
	for _, kind := range kinds {
		s := schemas["dev.haul.v1alpha1."+kind]
		if s.Description == "" {
			missing = append(missing, kind)
		}
		for prop, sub := range s.Properties {
			if prop == "metadata" { // ObjectMeta, described by Kubernetes itself
				continue
			}
			missing = append(missing, undescribed(t, kind+"."+prop, sub)...)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d fields have no description, so `kubectl explain` explains nothing for them; add a doc comment to the Go field:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
}

// publishedSchemas waits until the API server's OpenAPI v3 document for the Haul group
// holds every kind (it is rebuilt a moment after CRDs are installed) and returns its schemas.
func publishedSchemas(ctx context.Context, t *testing.T, kinds []string) map[string]openAPISchema {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	path := "apis/" + haulv1.GroupVersion.Group + "/" + haulv1.GroupVersion.Version
	var lastErr error
	for ctx.Err() == nil {
		schemas, err := fetchSchemas(dc, path)
		if err == nil {
			lastErr = nil
			for _, k := range kinds {
				if _, ok := schemas["dev.haul.v1alpha1."+k]; !ok {
					lastErr = fmt.Errorf("kind %s not published yet", k)
				}
			}
			if lastErr == nil {
				return schemas
			}
		} else {
			lastErr = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("reading the OpenAPI v3 document %s: %v", path, lastErr)
	return nil
}

func fetchSchemas(dc discovery.DiscoveryInterface, path string) (map[string]openAPISchema, error) {
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		return nil, fmt.Errorf("listing OpenAPI v3 paths: %w", err)
	}
	gv, ok := paths[path]
	if !ok {
		return nil, fmt.Errorf("path %s not published yet", path)
	}
	raw, err := gv.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", path, err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]openAPISchema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return doc.Components.Schemas, nil
}

// undescribed returns the paths, under and including path, of properties without a
// description. List items and map values are walked into, since explain shows their
// fields, but need no description of their own.
func undescribed(t *testing.T, path string, s openAPISchema) []string {
	var out []string
	if s.Description == "" {
		out = append(out, path)
	}
	out = append(out, undescribedChildren(t, path, s)...)
	return out
}

func undescribedChildren(t *testing.T, path string, s openAPISchema) []string {
	var out []string
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, undescribed(t, path+"."+n, s.Properties[n])...)
	}
	if s.Items != nil {
		out = append(out, undescribedChildren(t, path+"[]", *s.Items)...)
	}
	if len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
		var v openAPISchema
		if err := json.Unmarshal(s.AdditionalProperties, &v); err != nil {
			t.Fatalf("decoding additionalProperties of %s: %v", path, err)
		}
		out = append(out, undescribedChildren(t, path+"{}", v)...)
	}
	return out
}

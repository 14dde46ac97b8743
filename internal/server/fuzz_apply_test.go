package server

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseManifests: the REST API's apply body parser (the dashboard's and the CLI's
// `haul apply` through the server) takes any bytes without panicking; what it accepts
// is at least one named, non-list object per document and never more than the
// document limit, and what it refuses is an API error with a status, not a raw one.
func FuzzParseManifests(f *testing.F) {
	for _, s := range []string{
		"apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: demo}\nspec: {}\n",
		"---\n---\napiVersion: v1\nkind: List\nmetadata: {name: l}\nitems: []\n",
		"apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\nspec: {subscriptions: [{image: {repoURL: x, semverConstraint: ^1}}]}\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\n", "kind: X\nmetadata: {}\n", "\x00\xff", "{", "- a\n- b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := parseManifests(b)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code < 400 || ae.Code > 499 {
				t.Fatalf("refusal %v is not a 4xx API error", err)
			}
			return
		}
		if len(objs) == 0 || len(objs) > maxApplyDocs {
			t.Fatalf("%d objects accepted", len(objs))
		}
		for _, o := range objs {
			if o.GetName() == "" || o.IsList() || strings.TrimSpace(o.GetKind()) == "" {
				t.Fatalf("accepted %v", o.Object)
			}
		}
	})
}

package manifest

import "testing"

// FuzzLoadAndValidate feeds arbitrary manifests through parsing, Kargo conversion and
// validation: bad input must be reported, never panic.
func FuzzLoadAndValidate(f *testing.F) {
	f.Add([]byte(goodSet))
	f.Add([]byte("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: a, namespace: b}\nspec: {subscriptions: {upstreamStages: [{name: a}]}}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: haul.dev/v1alpha1, kind: Freight, metadata: {name: x}}]\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f}\norigin: {kind: Warehouse, name: w}\nimages: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := parseAndConvert("fuzz.yaml", b)
		if err != nil {
			return
		}
		_, _ = Validate(docs, Cluster{})
	})
}

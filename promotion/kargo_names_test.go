package promotion_test

import (
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Real Kargo pipelines read artifacts with Kargo's Go field names
// (imageFrom(url).Tag, commitFrom(url).ID); Haul's own documents use the JSON names
// (.tag, .id). Both must give the same value.
func TestArtifactFunctionsAnswerToKargoFieldNames(t *testing.T) {
	fr := haulv1.FreightReference{
		Name: "f1", Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images:  []haulv1.Image{{RepoURL: "example.com/app", Tag: "1.4.0", Digest: "sha256:abc"}},
		Commits: []haulv1.GitCommit{{RepoURL: "https://git.example/app.git", ID: "0123abcd", Branch: "main", Message: "fix it", Author: "Ann"}},
		Charts:  []haulv1.Chart{{RepoURL: "oci://charts.example/app", Name: "app", Version: "2.0.1"}},
	}
	exprs := map[string]string{
		"image.Tag":      "${{ imageFrom('example.com/app').Tag }}",
		"image.tag":      "${{ imageFrom('example.com/app').tag }}",
		"image.Digest":   "${{ imageFrom('example.com/app', warehouse('w')).Digest }}",
		"image.RepoURL":  "${{ imageFrom('example.com/app').RepoURL }}",
		"commit.ID":      "${{ commitFrom('https://git.example/app.git').ID }}",
		"commit.id":      "${{ commitFrom('https://git.example/app.git').id }}",
		"commit.Branch":  "${{ commitFrom('https://git.example/app.git').Branch }}",
		"commit.Message": "${{ commitFrom('https://git.example/app.git').Message }}",
		"commit.Author":  "${{ commitFrom('https://git.example/app.git').Author }}",
		"chart.Version":  "${{ chartFrom('oci://charts.example/app').Version }}",
		"chart.Name":     "${{ chartFrom('oci://charts.example/app').Name }}",
		"warehouse.Name": "${{ warehouse('w').Name }}",
		"warehouse.Kind": "${{ warehouse('w').Kind }}",
	}
	want := map[string]string{
		"image.Tag": "1.4.0", "image.tag": "1.4.0", "image.Digest": "sha256:abc", "image.RepoURL": "example.com/app",
		"commit.ID": "0123abcd", "commit.id": "0123abcd", "commit.Branch": "main", "commit.Message": "fix it", "commit.Author": "Ann",
		"chart.Version": "2.0.1", "chart.Name": "app", "warehouse.Name": "w", "warehouse.Kind": "Warehouse",
	}
	cfg := map[string]any{}
	for k, e := range exprs {
		cfg[k] = e
	}
	res, st := runIn(t, t.TempDir(), fr, nil, step("compose-output", "out", cfg))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	out, _ := st.Outputs["out"].(map[string]any)
	for k, w := range want {
		if got := out[k]; got != w {
			t.Errorf("%s = %v (%s), want %q", k, got, exprs[k], w)
		}
	}
	// A field neither Kargo nor Haul has is still an error that names it.
	res, _ = runIn(t, t.TempDir(), fr, nil, step("compose-output", "bad", map[string]any{"x": "${{ imageFrom('example.com/app').Tags }}"}))
	mustFail(t, res, "Tags")
}

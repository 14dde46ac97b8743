package promotion_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestJSONUpdateKeepsFormatting(t *testing.T) {
	dir := t.TempDir()
	orig := "{\n    \"image\": {\"tag\": \"old\"},\n    \"keep\":   [1, 2, 3]\n}\n"
	_ = os.WriteFile(filepath.Join(dir, "c.json"), []byte(orig), 0o644)
	res, _ := runIn(t, dir, freight("2.0.0"), nil, step("json-update", "j", map[string]any{"path": "c.json", "updates": []any{
		map[string]any{"key": "image.tag", "value": "${{ imageFrom('example.com/app').tag }}"},
		map[string]any{"key": "replicas", "value": 3},
	}}))
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "c.json"))
	for _, want := range []string{`"tag": "2.0.0"`, `"keep":   [1, 2, 3]`, `"replicas": 3`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("c.json lacks %q:\n%s", want, b)
		}
	}
}

func TestCopyDeleteFileWrite(t *testing.T) {
	dir := t.TempDir()
	res, _ := runIn(t, dir, freight("1"), nil,
		step("file-write", "w", map[string]any{"path": "a/b.txt", "contents": "tag=${{ imageFrom('example.com/app').tag }}"}),
		step("copy", "c", map[string]any{"inPath": "a", "outPath": "copy"}),
		step("delete", "d", map[string]any{"path": "a"}),
	)
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "copy/b.txt")); string(b) != "tag=1" {
		t.Fatalf("copy/b.txt = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatal("a was not deleted")
	}
}

func TestHTTPResponseSizeCapAndFailureExpression(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<20)
		for range 4 {
			_, _ = w.Write([]byte(chunk))
		}
	}))
	defer big.Close()
	res, _ := runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{"url": big.URL}))
	mustFail(t, res, "larger than")
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer bad.Close()
	res, _ = runIn(t, t.TempDir(), freight("1"), nil, step("http", "h", map[string]any{
		"url": bad.URL, "successExpression": "response.status == 200", "failureExpression": "response.status >= 500"}))
	if res.Phase != haulv1.PromotionFailed {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
}

package steps

import "testing"

func TestYAMLAndJSONUpdateCommitMessage(t *testing.T) {
	r := newStepRun(t, map[string]string{"v.yaml": "image:\n  tag: old\n", "c.json": `{"image": {"tag": "old"}}`})
	updates := []any{map[string]any{"key": "image.tag", "value": "1.2.3"}, map[string]any{"key": "replicas", "value": 3}}
	res := r.mustRun(t, yamlUpdate, map[string]any{"path": "v.yaml", "updates": updates})
	if want := "Updated v.yaml\n\n- image.tag: 1.2.3\n- replicas: 3"; res.Output["commitMessage"] != want {
		t.Fatalf("yaml-update commitMessage = %q, want %q", res.Output["commitMessage"], want)
	}
	res = r.mustRun(t, jsonUpdate, map[string]any{"path": "c.json", "updates": updates})
	if want := "Updated c.json\n\n- image.tag: \"1.2.3\"\n- replicas: 3"; res.Output["commitMessage"] != want {
		t.Fatalf("json-update commitMessage = %q, want %q", res.Output["commitMessage"], want)
	}
}

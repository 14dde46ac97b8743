package manifest

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/haul-dev/haul/internal/kargo"
)

// kargoField is one leaf of Kargo's CRD schemas (testdata/kargo_crd_fields.json,
// written by hack/kargocrd from akuity/kargo).
type kargoField struct {
	Path        string   `json:"path"`
	Type        string   `json:"type"`
	Enum        []string `json:"enum"`
	Pattern     string   `json:"pattern"`
	Format      string   `json:"format"`
	IntOrString bool     `json:"intOrString"`
}

// kargoBase is the smallest Kargo document of each kind that Haul accepts; each probe
// adds one field to it.
var kargoBase = map[string]string{
	"Project":       "metadata: {name: p}\n",
	"ProjectConfig": "metadata: {name: p, namespace: p}\nspec: {}\n",
	"Warehouse":     "metadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/acme/app}\n",
	"Stage": "metadata: {name: s, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n" +
		"  promotionTemplate:\n    spec:\n      steps:\n      - uses: git-clone\n",
	"PromotionTask":        "metadata: {name: t, namespace: p}\nspec:\n  steps:\n  - uses: git-clone\n",
	"ClusterPromotionTask": "metadata: {name: t}\nspec:\n  steps:\n  - uses: git-clone\n",
	"Freight":              "metadata: {name: f, namespace: p}\norigin: {kind: Warehouse, name: w}\nimages:\n- {repoURL: ghcr.io/acme/app, tag: 1.0.0}\n",
	"ClusterConfig":        "metadata: {name: cluster}\nspec: {}\n",
}

// refusedOnPurpose returns the reason Haul gives for refusing a Kargo field, from
// kargo.Refusals (a field under a refused path is refused with it), or "".
func refusedOnPurpose(kind, path string) string {
	for _, r := range kargo.Refusals {
		if r.Kind == kind && (path == r.Path || strings.HasPrefix(path, r.Path+".") || strings.HasPrefix(path, r.Path+"[]")) {
			return r.Reason
		}
	}
	return ""
}

// TestEveryKargoFieldIsMappedOrRefused walks every spec field of Kargo's CRDs. Each is
// set, alone, on a minimal Kargo document, which is converted and strictly decoded as
// `haul apply` does. The field must either change the Haul object (mapped) or be
// refused with an error naming it (and be listed in kargoRefused): a Kargo field that
// is silently dropped fails the test.
func TestEveryKargoFieldIsMappedOrRefused(t *testing.T) {
	raw, err := os.ReadFile("testdata/kargo_crd_fields.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Source string                  `json:"source"`
		Kinds  map[string][]kargoField `json:"kinds"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	var mapped, refused int
	var failures []string
	kinds := make([]string, 0, len(fx.Kinds))
	for k := range fx.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		base := kargoDoc(t, kind)
		baseline, err := convertAndDecode(base)
		if err != nil {
			// A kind refused as a whole refuses each of its fields, for its reason.
			if reason := refusedOnPurpose(kind, ""); reason != "" && strings.Contains(err.Error(), reason) {
				refused += len(fx.Kinds[kind])
				continue
			}
			t.Errorf("%s: the base document is refused: %v", kind, err)
			continue
		}
		for _, f := range fx.Kinds[kind] {
			key := kind + " " + f.Path
			outcome, detail := probeField(base, baseline, f)
			reason := refusedOnPurpose(kind, f.Path)
			switch {
			case outcome == "mapped" && reason == "":
				mapped++
			case outcome == "refused" && reason != "" && strings.Contains(detail, reason):
				refused++
			case reason != "":
				failures = append(failures, key+": listed as refused ("+reason+") but "+outcome+": "+detail)
			default:
				failures = append(failures, key+": "+outcome+": "+detail)
			}
		}
	}
	t.Logf("%s: %d fields mapped, %d refused on purpose", fx.Source, mapped, refused)
	for _, f := range failures {
		t.Error(f)
	}
}

func kargoDoc(t *testing.T, kind string) map[string]any {
	t.Helper()
	doc := map[string]any{}
	if err := yaml.Unmarshal([]byte(kargoBase[kind]), &doc); err != nil {
		t.Fatalf("%s base: %v", kind, err)
	}
	doc["apiVersion"] = "kargo.akuity.io/v1alpha1"
	doc["kind"] = kind
	return doc
}

// probeField sets f on a copy of base and reports mapped (the Haul objects differ from
// baseline), refused (an error, returned as detail) or dropped (no difference).
func probeField(base map[string]any, baseline []byte, f kargoField) (outcome, detail string) {
	values := probeValues(f)
	if cur, ok := get(base, strings.Split(f.Path, ".")); ok {
		// The base document sets this field already (and is accepted): probe a
		// different value if there is one.
		var others []any
		for _, v := range values {
			if !reflect.DeepEqual(v, cur) {
				others = append(others, v)
			}
		}
		if len(others) == 0 {
			return "mapped", ""
		}
		values = others
	}
	for _, v := range values {
		doc := deepCopyMap(base)
		set(doc, strings.Split(f.Path, "."), v)
		got, err := convertAndDecode(doc)
		if err != nil {
			return "refused", err.Error()
		}
		if !reflect.DeepEqual(got, baseline) {
			return "mapped", ""
		}
	}
	return "dropped", "accepted but nothing of it reaches the Haul object"
}

// probeValues are values of f's type that meet its constraints; a second value
// covers a field whose first probe equals Haul's default.
func probeValues(f kargoField) []any {
	switch f.Type {
	case "boolean":
		return []any{true, false}
	case "integer":
		return []any{int64(7), int64(3)}
	case "number":
		return []any{1.5}
	case "object":
		return []any{map[string]any{"probe": "x"}}
	}
	if len(f.Enum) > 0 {
		out := make([]any, len(f.Enum))
		for i, e := range f.Enum {
			out[i] = e
		}
		return out
	}
	last := f.Path[strings.LastIndex(f.Path, ".")+1:]
	switch {
	case f.Format == "duration" || strings.Contains(f.Pattern, "(s|m|h)") || strings.HasSuffix(last, "Interval") ||
		strings.HasSuffix(last, "Timeout") || last == "timeout" || last == "interval" || strings.HasSuffix(last, "SoakTime"):
		return []any{"17m", "3h"}
	case f.Format == "date-time" || last == "since":
		return []any{"2026-01-02T03:04:05Z"}
	case f.IntOrString:
		return []any{int64(7)}
	}
	return []any{"probe-value", "other-probe"}
}

// set puts v at path in doc, creating maps, one-element lists ([]) and map entries
// ({} becomes the key "probe") on the way, and descending into the first element of
// a list that exists.
func set(doc map[string]any, path []string, v any) {
	cur := doc
	for i, seg := range path {
		last := i == len(path)-1
		name, isList := strings.CutSuffix(seg, "[]")
		if name == "{}" {
			name = "probe"
		}
		if !isList {
			if last {
				cur[name] = v
				return
			}
			next, ok := cur[name].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[name] = next
			}
			cur = next
			continue
		}
		list, _ := cur[name].([]any)
		if last {
			cur[name] = []any{v}
			return
		}
		if len(list) == 0 {
			list = []any{map[string]any{}}
			cur[name] = list
		}
		next, ok := list[0].(map[string]any)
		if !ok {
			next = map[string]any{}
			list[0] = next
		}
		cur = next
	}
}

// get reads the value at path (first list items), as set writes it.
func get(doc map[string]any, path []string) (any, bool) {
	var cur any = doc
	for _, seg := range path {
		name, isList := strings.CutSuffix(seg, "[]")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
		if isList {
			l, _ := cur.([]any)
			if len(l) == 0 {
				return nil, false
			}
			cur = l[0]
		}
	}
	return cur, true
}

func deepCopyMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// convertAndDecode converts a Kargo document as `haul apply` does and strictly
// decodes every resulting Haul object; it returns their JSON, or the first error.
func convertAndDecode(doc map[string]any) ([]byte, error) {
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	docs, err := parseAndConvert("probe.yaml", b)
	if err != nil {
		return nil, err
	}
	var objs []any
	for i := range docs {
		obj, strict, err := Decode(&docs[i])
		if err != nil {
			return nil, err
		}
		if len(strict) > 0 {
			return nil, &ValidationError{Problems: []Problem{{Document: docs[i].Describe(), Message: strings.Join(strict, "; ")}}}
		}
		objs = append(objs, obj)
	}
	return json.Marshal(objs)
}

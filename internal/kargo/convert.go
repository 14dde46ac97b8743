package kargo

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/warehouse"
)

const (
	// APIVersion is the Kargo API version this package converts.
	APIVersion = "kargo.akuity.io/v1alpha1"
	// Group is Kargo's API group; labels and annotations under it are renamed.
	Group = "kargo.akuity.io"

	haulAPIVersion = "haul.dev/v1alpha1"
	haulGroup      = "haul.dev"
)

// Object is one manifest as a generic map, the shape YAML decodes into.
type Object = map[string]any

// Result is one converted object and what happened to it.
type Result struct {
	Object Object
	// From is the apiVersion the object was converted from, empty when only its labels
	// or annotations were renamed or nothing changed.
	From string
	// Notes says what else was changed, e.g. "labels renamed", "made from Project.spec.promotionPolicies".
	Notes []string
}

// IsKargo says whether the object is a Kargo resource.
func IsKargo(obj Object) bool {
	av, _ := obj["apiVersion"].(string)
	return strings.HasPrefix(av, Group+"/")
}

// ConvertAll converts every Kargo object of a manifest set and renames kargo.akuity.io
// labels and annotations on every object. Objects that need the rest of the set (the
// older Stage `subscriptions.upstreamStages` form, which names no warehouse) are resolved
// against it. Errors name the object and the field path.
func ConvertAll(objs []Object) ([]Result, error) {
	stagesOrigin := StageOrigins(objs)
	var out []Result
	for _, obj := range objs {
		res, err := Convert(obj, stagesOrigin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(obj), err)
		}
		out = append(out, res...)
	}
	return out, nil
}

// Convert converts one object. Kargo objects become Haul objects (a Project with
// promotionPolicies becomes a Project and a ProjectConfig); any object has its
// kargo.akuity.io labels and annotations renamed. stageOrigins maps namespace/stage to the
// warehouse an older-style Stage takes Freight from; it may be nil.
func Convert(obj Object, stageOrigins map[string]string) ([]Result, error) {
	obj = deepCopy(obj)
	var notes []string
	if renameMeta(obj) {
		notes = append(notes, "kargo.akuity.io labels/annotations renamed")
	}
	if !IsKargo(obj) {
		return []Result{{Object: obj, Notes: notes}}, nil
	}
	av := obj["apiVersion"].(string)
	if av != APIVersion {
		return nil, fmt.Errorf("apiVersion %q is not supported: only %s can be converted", av, APIVersion)
	}
	obj["apiVersion"] = haulAPIVersion
	kind, _ := obj["kind"].(string)
	if err := refuse(kind, obj); err != nil {
		return nil, err
	}
	extra := []Result{}
	var err error
	switch kind {
	case "Project":
		var cfg Object
		cfg, err = convertProject(obj)
		if cfg != nil {
			extra = append(extra, Result{Object: cfg, From: av, Notes: []string{"made from Project.spec.promotionPolicies"}})
		}
	case "ProjectConfig":
		if err = convertPolicies(obj, "spec"); err == nil {
			err = convertLinks(obj)
		}
	case "Warehouse":
		if err = moveShard(obj); err == nil {
			err = convertWarehouse(obj)
		}
	case "Stage":
		if err = moveShard(obj); err == nil {
			err = convertStage(obj, stageOrigins)
		}
	case "Freight":
		err = convertFreight(obj)
	case "PromotionTask", "ClusterPromotionTask", "Promotion", "ClusterConfig":
		// Same shape in Haul (a ClusterConfig's other fields are refused above);
		// unknown fields are caught by strict decoding later.
	default:
		return nil, fmt.Errorf("kind %s of %s has no Haul equivalent", kind, av)
	}
	if err != nil {
		return nil, err
	}
	return append([]Result{{Object: obj, From: av, Notes: notes}}, extra...), nil
}

// renameMeta renames kargo.akuity.io/* label and annotation keys to haul.dev/*.
func renameMeta(obj Object) bool {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		return false
	}
	changed := false
	for _, f := range []string{"labels", "annotations"} {
		m, _ := md[f].(map[string]any)
		for k, v := range m {
			if rest, ok := strings.CutPrefix(k, Group+"/"); ok {
				delete(m, k)
				m[haulGroup+"/"+rest] = v
				changed = true
			}
		}
	}
	return changed
}

// convertProject moves older Kargo's Project.spec.promotionPolicies into a ProjectConfig
// named after the project in its namespace, and returns that ProjectConfig (or nil).
func convertProject(obj Object) (Object, error) {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil, nil
	}
	pols, ok := spec["promotionPolicies"]
	if !ok {
		return nil, nil
	}
	delete(spec, "promotionPolicies")
	if len(spec) == 0 {
		delete(obj, "spec")
	}
	name := metaString(obj, "name")
	cfg := Object{
		"apiVersion": haulAPIVersion,
		"kind":       "ProjectConfig",
		"metadata":   map[string]any{"name": name, "namespace": name},
		"spec":       map[string]any{"promotionPolicies": pols},
	}
	if err := convertPolicies(cfg, "spec"); err != nil {
		return nil, fmt.Errorf("spec.promotionPolicies: %w", err)
	}
	return cfg, nil
}

// convertPolicies turns the older `stage: NAME` policy form into `stageSelector: {name: NAME}`.
func convertPolicies(obj Object, specKey string) error {
	spec, _ := obj[specKey].(map[string]any)
	pols, _ := spec["promotionPolicies"].([]any)
	for i, p := range pols {
		pm, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.promotionPolicies[%d]: expected an object", specKey, i)
		}
		if st, ok := pm["stage"]; ok {
			if _, both := pm["stageSelector"]; both {
				return fmt.Errorf("%s.promotionPolicies[%d]: set stage or stageSelector, not both", specKey, i)
			}
			delete(pm, "stage")
			pm["stageSelector"] = map[string]any{"name": st}
		}
	}
	return nil
}

func convertWarehouse(obj Object) error {
	spec, _ := obj["spec"].(map[string]any)
	subs, _ := spec["subscriptions"].([]any)
	for i, s := range subs {
		sm, _ := s.(map[string]any)
		if img, ok := sm["image"].(map[string]any); ok {
			path := fmt.Sprintf("spec.subscriptions[%d].image", i)
			if v, ok := img["semverConstraint"]; ok {
				if _, both := img["constraint"]; both {
					return fmt.Errorf("%s: set constraint or the older semverConstraint, not both", path)
				}
				delete(img, "semverConstraint")
				img["constraint"] = v
			}
			// Older Kargo names the strategy tagSelectionStrategy.
			if v, ok := img["tagSelectionStrategy"]; ok {
				delete(img, "tagSelectionStrategy")
				img["imageSelectionStrategy"] = v
			}
			if err := convertTagFilters(img, path); err != nil {
				return err
			}
		}
		if git, ok := sm["git"].(map[string]any); ok {
			if err := convertTagFilters(git, fmt.Sprintf("spec.subscriptions[%d].git", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// convertTagFilters maps Kargo's deprecated allowTags (one regex) and ignoreTags (exact
// tags) onto allowTagsRegexes and ignoreTagsRegexes.
func convertTagFilters(sub map[string]any, path string) error {
	if v, ok := sub["allowTags"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return fmt.Errorf("%s.allowTags: expected a string", path)
		}
		delete(sub, "allowTags")
		if s != "" {
			sub["allowTagsRegexes"] = append(asSlice(sub["allowTagsRegexes"]), s)
		}
	}
	if v, ok := sub["ignoreTags"]; ok {
		tags, isList := v.([]any)
		if !isList {
			return fmt.Errorf("%s.ignoreTags: expected a list of tags", path)
		}
		delete(sub, "ignoreTags")
		regs := asSlice(sub["ignoreTagsRegexes"])
		for _, t := range tags {
			regs = append(regs, "^"+regexp.QuoteMeta(fmt.Sprint(t))+"$")
		}
		sub["ignoreTagsRegexes"] = regs
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// convertStage turns older Kargo's `spec.subscriptions` ({warehouse: W} or
// {upstreamStages: [{name: S}]}) into requestedFreight.
func convertStage(obj Object, origins map[string]string) error {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	subs, ok := spec["subscriptions"].(map[string]any)
	if !ok {
		if _, present := spec["subscriptions"]; present {
			return fmt.Errorf("spec.subscriptions: expected an object")
		}
		return nil
	}
	if _, both := spec["requestedFreight"]; both {
		return fmt.Errorf("spec.subscriptions: set requestedFreight or the older subscriptions, not both")
	}
	delete(spec, "subscriptions")
	if wh, ok := subs["warehouse"].(string); ok {
		delete(subs, "warehouse")
		spec["requestedFreight"] = []any{map[string]any{
			"origin":  map[string]any{"kind": "Warehouse", "name": wh},
			"sources": map[string]any{"direct": true},
		}}
	} else if ups, ok := subs["upstreamStages"].([]any); ok {
		delete(subs, "upstreamStages")
		var names []any
		for i, u := range ups {
			um, _ := u.(map[string]any)
			n, _ := um["name"].(string)
			if n == "" {
				return fmt.Errorf("spec.subscriptions.upstreamStages[%d].name: required", i)
			}
			names = append(names, n)
		}
		ns := metaString(obj, "namespace")
		wh := ""
		for _, n := range names {
			if w := origins[ns+"/"+n.(string)]; w != "" {
				wh = w
				break
			}
		}
		if wh == "" {
			return fmt.Errorf("spec.subscriptions.upstreamStages: cannot tell which Warehouse %v take Freight from; include the upstream Stages in the same apply or use requestedFreight", names)
		}
		spec["requestedFreight"] = []any{map[string]any{
			"origin":  map[string]any{"kind": "Warehouse", "name": wh},
			"sources": map[string]any{"stages": names},
		}}
	}
	for k := range subs {
		return fmt.Errorf("spec.subscriptions.%s: unknown field", k)
	}
	return nil
}

// StageOrigins resolves, for every Stage of the set, which Warehouse it takes Freight
// from, following older-style upstreamStages chains.
func StageOrigins(objs []Object) map[string]string {
	direct := map[string]string{}
	ups := map[string][]string{}
	for _, o := range objs {
		if k, _ := o["kind"].(string); k != "Stage" {
			continue
		}
		key := metaString(o, "namespace") + "/" + metaString(o, "name")
		spec, _ := o["spec"].(map[string]any)
		if subs, ok := spec["subscriptions"].(map[string]any); ok {
			if wh, ok := subs["warehouse"].(string); ok {
				direct[key] = wh
			}
			for _, u := range asSlice(subs["upstreamStages"]) {
				if um, ok := u.(map[string]any); ok {
					ups[key] = append(ups[key], metaString(o, "namespace")+"/"+fmt.Sprint(um["name"]))
				}
			}
		}
		for _, rf := range asSlice(spec["requestedFreight"]) {
			rm, _ := rf.(map[string]any)
			if om, ok := rm["origin"].(map[string]any); ok {
				if n, ok := om["name"].(string); ok && direct[key] == "" {
					direct[key] = n
				}
			}
		}
	}
	out := map[string]string{}
	var resolve func(k string, depth int) string
	resolve = func(k string, depth int) string {
		if w := direct[k]; w != "" {
			return w
		}
		if depth > 50 {
			return ""
		}
		for _, u := range ups[k] {
			if w := resolve(u, depth+1); w != "" {
				return w
			}
		}
		return ""
	}
	for k := range direct {
		out[k] = direct[k]
	}
	for k := range ups {
		out[k] = resolve(k, 0)
	}
	return out
}

// convertFreight renames Freight to its Haul ID, which hashes the origin and artifacts
// differently from Kargo, so that the controllers recognise it.
func convertFreight(obj Object) error {
	id, err := FreightID(obj)
	if err != nil {
		return err
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	md["name"] = id
	return nil
}

// FreightID computes Haul's Freight name (warehouse.FreightID) from a Freight object's
// origin and artifacts.
func FreightID(obj Object) (string, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	var f haulv1.Freight
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("reading Freight content: %w", err)
	}
	if f.Origin.Kind == "" || f.Origin.Name == "" {
		return "", fmt.Errorf("origin: kind and name are required")
	}
	return warehouse.FreightID(f.Origin, f.Images, f.Commits, f.Charts), nil
}

func metaString(obj Object, key string) string {
	md, _ := obj["metadata"].(map[string]any)
	s, _ := md[key].(string)
	return s
}

func describe(obj Object) string {
	kind, _ := obj["kind"].(string)
	name := metaString(obj, "name")
	if ns := metaString(obj, "namespace"); ns != "" {
		return fmt.Sprintf("%s %s/%s", kind, ns, name)
	}
	return fmt.Sprintf("%s %s", kind, name)
}

func deepCopy(v Object) Object {
	return copyValue(v).(map[string]any)
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = copyValue(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = copyValue(x)
		}
		return s
	default:
		return v
	}
}

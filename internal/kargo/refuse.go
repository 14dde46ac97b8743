package kargo

import (
	"fmt"
	"strings"
)

// Refusal is a Kargo field Haul does not take, with why. Converting a document that
// sets one fails with "<path>: <reason>", so nothing of a Kargo configuration is
// silently dropped.
type Refusal struct {
	// Kind is the Kargo kind, Path the field ([] marks list items).
	Kind, Path string
	// Reason says why Haul refuses it and what to do instead.
	Reason string
}

// Refusals lists every Kargo field Haul refuses on purpose (docs/kargo-compatibility.md,
// "Schema", shows the same list).
var Refusals = []Refusal{
	{"Stage", "spec.targets", "Kargo Targets have no Haul equivalent; a Stage promotes through its promotionTemplate steps"},
	{"Warehouse", "spec.subscriptions[].subscription", "generic subscriptions have no Haul equivalent; Haul Warehouses subscribe to images, Git repositories and charts"},
	{"Freight", "artifacts", "generic artifacts have no Haul equivalent; Haul Freight holds images, commits and charts"},
	{"ProjectConfig", "spec.promotionWindows[].projectSelector", "a ProjectConfig's windows apply to its own project; select projects in the ClusterConfig's promotionWindows"},
	{"ProjectConfig", "spec.freightLinks[].if", "Haul link URLs are templates ({{project}}, {{freight}}, {{alias}}), not expressions, so a link cannot be conditional"},
	{"ProjectConfig", "spec.stageLinks[].if", "Haul link URLs are templates ({{project}}, {{stage}}), not expressions, so a link cannot be conditional"},
	// Kargo's ClusterConfig maps to Haul's by its promotionWindows, webhookReceivers and
	// gitClient name and email; the rest is refused.
	{"ClusterConfig", "spec.gitClient.signingKeySecret", "Haul does not sign commits: the gitClient's name and email are taken, a signing key is not (remove signingKeySecret)"},
	{"ClusterConfig", "spec.freightLinks", "Haul has no cluster-wide links: set freightLinks per project in its ProjectConfig"},
	{"ClusterConfig", "spec.stageLinks", "Haul has no cluster-wide links: set stageLinks per project in its ProjectConfig"},
}

// refuse returns the error for the first refused field obj sets, or nil.
func refuse(kind string, obj Object) error {
	for _, r := range Refusals {
		if r.Kind != kind {
			continue
		}
		if at, ok := present(obj, strings.Split(r.Path, "."), ""); ok {
			return fmt.Errorf("%s: %s", at, r.Reason)
		}
	}
	return nil
}

// present reports whether the path is set in v, and where (with list indexes).
func present(v any, path []string, at string) (string, bool) {
	if len(path) == 0 {
		return at, true
	}
	name, isList := strings.CutSuffix(path[0], "[]")
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	child, ok := m[name]
	if !ok || child == nil {
		return "", false
	}
	here := name
	if at != "" {
		here = at + "." + name
	}
	if !isList {
		return present(child, path[1:], here)
	}
	list, _ := child.([]any)
	for i, item := range list {
		if p, ok := present(item, path[1:], fmt.Sprintf("%s[%d]", here, i)); ok {
			return p, true
		}
	}
	return "", false
}

// shardLabel is the label Haul selects a controller shard by.
const shardLabel = haulGroup + "/shard"

// moveShard turns Kargo's spec.shard (Stages and Warehouses) into the haul.dev/shard
// label, which `haul controller --shard` selects on.
func moveShard(obj Object) error {
	spec, _ := obj["spec"].(map[string]any)
	v, ok := spec["shard"]
	if !ok {
		return nil
	}
	delete(spec, "shard")
	shard, isStr := v.(string)
	if !isStr {
		return fmt.Errorf("spec.shard: expected a string")
	}
	if shard == "" {
		return nil
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		md["labels"] = labels
	}
	if cur, ok := labels[shardLabel]; ok && cur != shard {
		return fmt.Errorf("spec.shard %q disagrees with label %s=%v", shard, shardLabel, cur)
	}
	labels[shardLabel] = shard
	return nil
}

// convertLinks maps Kargo's deep links (title, url, description) onto Haul's (name,
// url, description).
func convertLinks(obj Object) error {
	spec, _ := obj["spec"].(map[string]any)
	for _, key := range []string{"freightLinks", "stageLinks"} {
		links, _ := spec[key].([]any)
		for i, l := range links {
			lm, ok := l.(map[string]any)
			if !ok {
				continue
			}
			if t, ok := lm["title"]; ok {
				if _, both := lm["name"]; both {
					return fmt.Errorf("spec.%s[%d]: set title (Kargo) or name, not both", key, i)
				}
				delete(lm, "title")
				lm["name"] = t
			}
		}
	}
	return nil
}

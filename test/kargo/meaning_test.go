package kargo

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// meaning lists what a Kargo object says, one line per fact a user relies on: its
// name and annotations, Warehouse subscriptions, requested Freight and where it comes
// from, every promotion and verification step (uses, task, alias, condition, vars and
// config), analysis templates, promotion policies, webhook receivers, links, windows
// and Freight artifacts. It reads Kargo's spelling and Haul's alike (where Kargo has an
// older spelling, it reads that as the newer one), so the Kargo document and the Haul
// object apply makes of it must give the same lines. origins maps namespace/stage to
// the Warehouse an older-style Stage (subscriptions.upstreamStages) takes Freight from.
// Kargo's kargo.akuity.io/ annotations and labels are read as haul.dev/ ones when
// fromKargo is set, so a key the conversion failed to rename shows.
func meaning(obj map[string]any, origins map[string]string, fromKargo bool) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	md := mapAt(obj, "metadata")
	ns, name := str(md["namespace"]), str(md["name"])
	key := func(k string) string {
		if fromKargo {
			return strings.Replace(k, "kargo.akuity.io/", "haul.dev/", 1)
		}
		return k
	}
	for k, v := range mapAt(md, "annotations") {
		add("annotation %s=%v", key(k), v)
	}
	for k, v := range mapAt(md, "labels") {
		add("label %s=%v", key(k), v)
	}
	spec := mapAt(obj, "spec")
	switch str(obj["kind"]) {
	case "Project":
		policies(spec, add)
	case "ProjectConfig":
		policies(spec, add)
		receivers(spec, add)
		for _, key := range []string{"freightLinks", "stageLinks"} {
			for i, l := range list(spec[key]) {
				lm, _ := l.(map[string]any)
				title := str(lm["title"]) + str(lm["name"])
				add("%s[%d] %s %s %s", key, i, title, str(lm["url"]), str(lm["description"]))
			}
		}
		windows(spec, add)
	case "ClusterConfig":
		windows(spec, add)
		receivers(spec, add)
	case "Warehouse":
		warehouse(spec, add)
	case "Stage":
		add("shard=%s", str(spec["shard"])+str(mapAt(md, "labels")["haul.dev/shard"]))
		freight(ns, name, spec, origins, add)
		vars("vars", spec["vars"], add)
		tmpl := mapAt(mapAt(spec, "promotionTemplate"), "spec")
		vars("promotionTemplate.vars", tmpl["vars"], add)
		stepLines("promotionTemplate.steps", tmpl["steps"], add)
		v := mapAt(spec, "verification")
		stepLines("verification.steps", v["steps"], add)
		for i, a := range list(v["analysisTemplates"]) {
			am, _ := a.(map[string]any)
			add("analysisTemplate[%d] %s kind=%s", i, str(am["name"]), str(am["kind"]))
		}
		vars("verification.args", v["args"], add)
		if m := v["analysisRunMetadata"]; m != nil {
			add("analysisRunMetadata %s", canonical(m))
		}
	case "PromotionTask", "ClusterPromotionTask":
		vars("vars", spec["vars"], add)
		stepLines("steps", spec["steps"], add)
	case "Promotion":
		add("stage=%s freight=%s", str(spec["stage"]), str(spec["freight"]))
		vars("vars", spec["vars"], add)
		stepLines("steps", spec["steps"], add)
	case "Freight":
		o := mapAt(obj, "origin")
		add("origin %s/%s", str(o["kind"]), str(o["name"]))
		for _, k := range []string{"images", "commits", "charts"} {
			for i, a := range list(obj[k]) {
				am, _ := a.(map[string]any)
				add("%s[%d] %s %s %s %s %s %s", k, i, str(am["repoURL"]), str(am["name"]), str(am["tag"]), str(am["digest"]), str(am["id"]), str(am["version"]))
			}
		}
	}
	sort.Strings(out)
	return out
}

func policies(spec map[string]any, add func(string, ...any)) {
	for i, p := range list(spec["promotionPolicies"]) {
		pm, _ := p.(map[string]any)
		stage := str(pm["stage"]) + str(mapAt(pm, "stageSelector")["name"])
		add("promotionPolicy[%d] stage=%s auto=%v", i, stage, pm["autoPromotionEnabled"] == true)
	}
}

func windows(spec map[string]any, add func(string, ...any)) {
	for i, w := range list(spec["promotionWindows"]) {
		add("promotionWindow[%d] %s", i, canonical(w))
	}
}

func warehouse(spec map[string]any, add func(string, ...any)) {
	add("freightCreationPolicy=%s interval=%s", str(spec["freightCreationPolicy"]), str(duration(spec["interval"])))
	if c := mapAt(spec, "freightCreationCriteria"); len(c) > 0 {
		add("freightCreationCriteria %s", str(c["expression"]))
	}
	for i, s := range list(spec["subscriptions"]) {
		sm, _ := s.(map[string]any)
		if img := mapAt(sm, "image"); len(img) > 0 {
			allow := list(img["allowTagsRegexes"])
			if t := str(img["allowTags"]); t != "" {
				allow = append(allow, t)
			}
			ignore := len(list(img["ignoreTagsRegexes"])) + len(list(img["ignoreTags"]))
			add("subscription[%d] image %s constraint=%s strategy=%s allow=%v ignore=%d platform=%s",
				i, str(img["repoURL"]), str(img["constraint"])+str(img["semverConstraint"]),
				str(img["imageSelectionStrategy"])+str(img["tagSelectionStrategy"]), allow, ignore, str(img["platform"]))
		}
		if g := mapAt(sm, "git"); len(g) > 0 {
			add("subscription[%d] git %s branch=%s strategy=%s constraint=%s include=%v exclude=%v",
				i, str(g["repoURL"]), str(g["branch"]), str(g["commitSelectionStrategy"]), str(g["semverConstraint"]),
				list(g["includePaths"]), list(g["excludePaths"]))
		}
		if c := mapAt(sm, "chart"); len(c) > 0 {
			add("subscription[%d] chart %s name=%s constraint=%s", i, str(c["repoURL"]), str(c["name"]), str(c["semverConstraint"]))
		}
	}
}

// freight describes requestedFreight, reading older Kargo's subscriptions as the
// requestedFreight they mean.
func freight(ns, name string, spec map[string]any, origins map[string]string, add func(string, ...any)) {
	if subs := mapAt(spec, "subscriptions"); len(subs) > 0 {
		if wh := str(subs["warehouse"]); wh != "" {
			add("requestedFreight[0] Warehouse/%s direct=true stages=[]", wh)
		}
		var ups []string
		for _, u := range list(subs["upstreamStages"]) {
			um, _ := u.(map[string]any)
			ups = append(ups, str(um["name"]))
		}
		if len(ups) > 0 {
			add("requestedFreight[0] Warehouse/%s direct=false stages=%v", origins[ns+"/"+name], ups)
		}
	}
	for i, r := range list(spec["requestedFreight"]) {
		rm, _ := r.(map[string]any)
		o, src := mapAt(rm, "origin"), mapAt(rm, "sources")
		add("requestedFreight[%d] %s/%s direct=%v stages=%v", i, str(o["kind"]), str(o["name"]), src["direct"] == true, list(src["stages"]))
		for _, k := range []string{"requiredSoakTime", "availabilityStrategy", "autoPromotionOptions"} {
			if v, ok := src[k]; ok {
				add("requestedFreight[%d] sources.%s=%s", i, k, canonical(duration(v)))
			}
		}
	}
}

func vars(what string, v any, add func(string, ...any)) {
	for i, x := range list(v) {
		xm, _ := x.(map[string]any)
		add("%s[%d] %s=%s", what, i, str(xm["name"]), str(xm["value"]))
	}
}

func stepLines(what string, v any, add func(string, ...any)) {
	for i, s := range list(v) {
		sm, _ := s.(map[string]any)
		task := mapAt(sm, "task")
		add("%s[%d] uses=%s task=%s/%s as=%s if=%s continueOnError=%v retry=%s", what, i, str(sm["uses"]),
			str(task["kind"]), str(task["name"]), str(sm["as"]), str(sm["if"]), sm["continueOnError"] == true, retry(sm["retry"]))
		vars(fmt.Sprintf("%s[%d].vars", what, i), sm["vars"], add)
		if c, ok := sm["config"]; ok {
			add("%s[%d].config %s", what, i, canonical(c))
		}
	}
}

// duration reads a Go duration ("1h" and "1h0m0s" alike), leaving anything else.
func duration(v any) any {
	if s, ok := v.(string); ok {
		if d, err := time.ParseDuration(s); err == nil {
			return d.String()
		}
	}
	return v
}

// retry is a step's retry with its timeout read as a duration.
func retry(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return canonical(v)
	}
	c := map[string]any{}
	for k, x := range m {
		c[k] = duration(x)
	}
	return canonical(c)
}

// canonical is v as JSON with sorted keys, so equal values compare equal.
func canonical(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func mapAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	if v == nil {
		return map[string]any{}
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// str is v as text: numbers and booleans as written, nil as "".
func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// receivers records each webhook receiver (ProjectConfig and ClusterConfig): its name
// and every provider key with its whole value (Secret, actions and their criteria).
func receivers(spec map[string]any, add func(string, ...any)) {
	for i, r := range list(spec["webhookReceivers"]) {
		rm, _ := r.(map[string]any)
		var providers []string
		for k, v := range rm {
			if k != "name" {
				providers = append(providers, k+"="+canonical(v))
			}
		}
		sort.Strings(providers)
		add("receiver[%d] %s %s", i, str(rm["name"]), strings.Join(providers, " "))
	}
}

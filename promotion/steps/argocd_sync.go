package steps

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/haul-dev/haul/promotion"
)

// appSources returns the Application's sources (spec.source, or spec.sources[]) as
// maps that can be edited in place, and whether it is a multi-source Application.
func appSources(app *unstructured.Unstructured) ([]map[string]any, bool) {
	spec := mapOf(app.Object, "spec")
	if spec == nil {
		return nil, false
	}
	if list, ok := spec["sources"].([]any); ok && len(list) > 0 {
		out := make([]map[string]any, 0, len(list))
		for _, s := range list {
			if m, ok := s.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out, true
	}
	if src, ok := spec["source"].(map[string]any); ok {
		return []map[string]any{src}, false
	}
	return nil, false
}

// operationMarker identifies the sync operation of one step of one Promotion.
func operationMarker(sc *promotion.StepContext) string { return sc.Promotion + ":" + sc.Alias }

// ours says whether an Argo CD operation carries this step's marker.
func ours(op map[string]any, marker string) bool {
	info, _ := op["info"].([]any)
	for _, i := range info {
		if m, ok := i.(map[string]any); ok && m["name"] == operationInfoKey && m["value"] == marker {
			return true
		}
	}
	return false
}

// syncApp moves one Application forward: it starts this step's sync operation if none
// is known, otherwise reports on it. msg starting with "failed:" means the sync failed.
// synced holds the revision per Application source the check should expect.
func syncApp(ctx context.Context, dyn dynamic.Interface, sc *promotion.StepContext, app *unstructured.Unstructured,
	updates []argoCDSourceUpdate, revs []string) (msg string, done bool, synced []string, err error) {
	key := app.GetNamespace() + "/" + app.GetName()
	srcs, multi := appSources(app)
	if len(srcs) == 0 {
		return "", false, nil, promotion.Terminal(fmt.Errorf("Application %s has no spec.source or spec.sources", key))
	}
	target := make([]string, len(srcs))
	touched := make([]*argoCDSourceUpdate, len(srcs))
	for i := range updates {
		u := &updates[i]
		j := -1
		for k, s := range srcs {
			repo, _ := s["repoURL"].(string)
			chart, _ := s["chart"].(string)
			if sameRepo(repo, u.RepoURL) && (u.Chart == "" || u.Chart == chart) {
				j = k
				break
			}
		}
		if j < 0 {
			return "", false, nil, promotion.Terminal(fmt.Errorf("Application %s has no source with repoURL %s", key, u.RepoURL))
		}
		target[j], touched[j] = revs[i], u
	}

	marker := operationMarker(sc)
	pending := mapOf(app.Object, "operation")
	state := mapOf(app.Object, "status", "operationState")
	switch {
	case pending != nil && ours(pending, marker):
		return fmt.Sprintf("waiting for Argo CD to start syncing %s", key), false, nil, nil
	case state != nil && ours(mapOf(state, "operation"), marker):
		phase, _ := state["phase"].(string)
		switch phase {
		case "Succeeded":
			got := syncedRevisions(state, multi)
			for j, want := range target {
				if want == "" || !shaRE.MatchString(want) {
					continue
				}
				if j >= len(got) || got[j] != want {
					return fmt.Sprintf("failed: Application %s synced at %v instead of %s", key, got, want), false, nil, nil
				}
			}
			for j := range target {
				if target[j] == "" && j < len(got) {
					target[j] = got[j]
				}
			}
			return "", true, target, nil
		case "Failed", "Error":
			m, _ := state["message"].(string)
			return fmt.Sprintf("failed: sync of Application %s %s: %s", key, strings.ToLower(phase), m), false, nil, nil
		default:
			return fmt.Sprintf("Argo CD is syncing %s (%s)", key, phase), false, nil, nil
		}
	case pending != nil || (state != nil && state["phase"] == "Running"):
		return fmt.Sprintf("waiting for the running operation of Application %s to finish", key), false, nil, nil
	}

	// Start: edit the sources, then ask for a sync of exactly those revisions.
	for j, u := range touched {
		if u == nil {
			continue
		}
		if err := applySourceUpdate(sc, srcs[j], u, target[j]); err != nil {
			return "", false, nil, err
		}
	}
	if multi {
		list := make([]any, len(srcs))
		for j := range srcs {
			list[j] = srcs[j]
		}
		_ = unstructured.SetNestedSlice(app.Object, list, "spec", "sources")
	} else {
		_ = unstructured.SetNestedMap(app.Object, srcs[0], "spec", "source")
	}
	sync := map[string]any{}
	if multi {
		revisions := make([]any, len(srcs))
		positions := make([]any, len(srcs))
		for j, s := range srcs {
			r := target[j]
			if r == "" {
				r, _ = s["targetRevision"].(string)
			}
			revisions[j], positions[j] = r, int64(j+1)
		}
		sync["revisions"], sync["sourcePositions"] = revisions, positions
	} else if target[0] != "" {
		sync["revision"] = target[0]
	}
	app.Object["operation"] = map[string]any{
		"initiatedBy": map[string]any{"username": "haul"},
		"info": []any{
			map[string]any{"name": operationInfoKey, "value": marker},
			map[string]any{"name": "Reason", "value": fmt.Sprintf("Promotion %s to stage %s", sc.Promotion, sc.Stage)},
		},
		"sync": sync,
	}
	if _, err := dyn.Resource(applicationGVR).Namespace(app.GetNamespace()).Update(ctx, app, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Sprintf("Application %s changed while starting the sync; retrying", key), false, nil, nil
		}
		return "", false, nil, fmt.Errorf("starting sync of Application %s: %w", key, err)
	}
	return fmt.Sprintf("started syncing %s", key), false, nil, nil
}

// syncedRevisions reads the revisions a finished operation synced, per source.
func syncedRevisions(state map[string]any, multi bool) []string {
	res := mapOf(state, "syncResult")
	if res == nil {
		return nil
	}
	if multi {
		list, _ := res["revisions"].([]any)
		out := make([]string, len(list))
		for i, r := range list {
			out[i], _ = r.(string)
		}
		return out
	}
	r, _ := res["revision"].(string)
	return []string{r}
}

// applySourceUpdate edits one Application source: target revision, Kustomize image
// overrides and Helm image parameters.
func applySourceUpdate(sc *promotion.StepContext, src map[string]any, u *argoCDSourceUpdate, rev string) error {
	if u.UpdateTargetRevision && rev != "" {
		src["targetRevision"] = rev
	}
	if u.Kustomize != nil && len(u.Kustomize.Images) > 0 {
		k, _ := src["kustomize"].(map[string]any)
		if k == nil {
			k = map[string]any{}
		}
		images, _ := k["images"].([]any)
		for _, img := range u.Kustomize.Images {
			ref, err := kustomizeOverride(sc, img)
			if err != nil {
				return err
			}
			images = setKustomizeImage(images, img.RepoURL, ref)
		}
		k["images"] = images
		src["kustomize"] = k
	}
	if u.Helm != nil && len(u.Helm.Images) > 0 {
		h, _ := src["helm"].(map[string]any)
		if h == nil {
			h = map[string]any{}
		}
		params, _ := h["parameters"].([]any)
		for _, img := range u.Helm.Images {
			v, err := helmImageValue(sc, img)
			if err != nil {
				return err
			}
			params = setHelmParameter(params, img.Key, v)
		}
		h["parameters"] = params
		src["helm"] = h
	}
	return nil
}

// freightImage finds the Freight's image from repoURL.
func freightImage(sc *promotion.StepContext, repoURL string) (tag, digest string, ok bool) {
	for _, i := range sc.Freight.Images {
		if i.RepoURL == repoURL {
			return i.Tag, i.Digest, true
		}
	}
	return "", "", false
}

func kustomizeOverride(sc *promotion.StepContext, img argoCDKustomizeImage) (string, error) {
	tag, digest := img.Tag, img.Digest
	if tag == "" && digest == "" {
		var ok bool
		if tag, digest, ok = freightImage(sc, img.RepoURL); !ok {
			return "", promotion.Terminal(fmt.Errorf("kustomize.images: the Freight has no image from %s; set tag or digest", img.RepoURL))
		}
	}
	name := img.RepoURL
	if img.NewName != "" {
		name += "=" + img.NewName
	}
	if (img.UseDigest || tag == "") && digest != "" {
		return name + "@" + digest, nil
	}
	return name + ":" + tag, nil
}

// setKustomizeImage replaces the override for image (by name before "=", ":" or "@"),
// or appends one.
func setKustomizeImage(images []any, image, ref string) []any {
	for i, v := range images {
		s, _ := v.(string)
		name := s
		if j := strings.IndexAny(name, "=@"); j >= 0 {
			name = name[:j]
		}
		if j := strings.LastIndex(name, ":"); j > strings.LastIndex(name, "/") {
			name = name[:j]
		}
		if name == image {
			images[i] = ref
			return images
		}
	}
	return append(images, ref)
}

func helmImageValue(sc *promotion.StepContext, img argoCDHelmImage) (string, error) {
	tag, digest := img.Tag, img.Digest
	if tag == "" && digest == "" {
		var ok bool
		if tag, digest, ok = freightImage(sc, img.RepoURL); !ok {
			return "", promotion.Terminal(fmt.Errorf("helm.images: the Freight has no image from %s; set tag or digest", img.RepoURL))
		}
	}
	switch img.Value {
	case "Tag":
		return tag, nil
	case "Digest":
		return digest, nil
	case "ImageAndDigest":
		return img.RepoURL + "@" + digest, nil
	default:
		return img.RepoURL + ":" + tag, nil
	}
}

func setHelmParameter(params []any, name, value string) []any {
	for i, v := range params {
		if m, ok := v.(map[string]any); ok && m["name"] == name {
			m["value"] = value
			params[i] = m
			return params
		}
	}
	return append(params, map[string]any{"name": name, "value": value})
}

package promotion

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// ExpandMechanisms turns a Stage's legacy promotionMechanisms (Kargo's older
// shorthand) into the equivalent steps. For each gitRepoUpdate:
//
//	git-clone          readBranch (or the default branch) into src, writeBranch into out
//	                   (created as an orphan if missing)
//	git-clear, copy    when reading another branch: out becomes src's content
//	kustomize-set-image / yaml-update   the image updates, in out
//	git-commit, git-push               to writeBranch
//
// then one argocd-update per argoCDAppUpdate, syncing to the commit just pushed when
// there is exactly one repository (otherwise to the Application's own target revision).
// It returns nil when the Stage has no mechanisms.
func ExpandMechanisms(stage *haulv1.Stage) ([]haulv1.PromotionStep, error) {
	m := stage.Spec.PromotionMechanisms
	if m == nil {
		return nil, nil
	}
	var steps []haulv1.PromotionStep
	add := func(uses, as string, cfg map[string]any) error {
		raw, err := json.Marshal(cfg)
		if err != nil {
			return fmt.Errorf("encoding %s config: %w", uses, err)
		}
		steps = append(steps, haulv1.PromotionStep{Uses: uses, As: as, Config: &apiextensionsv1.JSON{Raw: raw}})
		return nil
	}
	suffix := func(i int) string {
		if len(m.GitRepoUpdates) == 1 {
			return ""
		}
		return "-" + strconv.Itoa(i+1)
	}
	for i, u := range m.GitRepoUpdates {
		field := fmt.Sprintf("spec.promotionMechanisms.gitRepoUpdates[%d]", i)
		if u.RepoURL == "" || u.WriteBranch == "" {
			return nil, fmt.Errorf("%s: repoURL and writeBranch are required", field)
		}
		sfx := suffix(i)
		src, out := "src"+sfx, "out"+sfx
		separate := u.ReadBranch != u.WriteBranch
		var checkout []any
		if separate {
			read := map[string]any{"path": src}
			if u.ReadBranch != "" {
				read["branch"] = u.ReadBranch
			}
			checkout = append(checkout, read)
		}
		checkout = append(checkout, map[string]any{"branch": u.WriteBranch, "create": true, "path": out})
		if err := add("git-clone", "clone"+sfx, map[string]any{"repoURL": u.RepoURL, "checkout": checkout}); err != nil {
			return nil, err
		}
		if separate {
			if err := add("git-clear", "clear"+sfx, map[string]any{"path": out}); err != nil {
				return nil, err
			}
			if err := add("copy", "copy"+sfx, map[string]any{"inPath": src, "outPath": out}); err != nil {
				return nil, err
			}
		}
		if u.Kustomize != nil {
			byPath := map[string][]any{}
			for _, img := range u.Kustomize.Images {
				byPath[joinPath(out, img.Path)] = append(byPath[joinPath(out, img.Path)], map[string]any{"image": img.Image})
			}
			paths := make([]string, 0, len(byPath))
			for p := range byPath {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for j, p := range paths {
				as := fmt.Sprintf("set-image%s-%d", sfx, j+1)
				if err := add("kustomize-set-image", as, map[string]any{"path": p, "images": byPath[p]}); err != nil {
					return nil, err
				}
			}
		}
		if u.Helm != nil {
			byFile := map[string][]any{}
			for k, img := range u.Helm.Images {
				v, err := helmImageExpression(img)
				if err != nil {
					return nil, fmt.Errorf("%s.helm.images[%d]: %w", field, k, err)
				}
				byFile[joinPath(out, img.ValuesFilePath)] = append(byFile[joinPath(out, img.ValuesFilePath)], map[string]any{"key": img.Key, "value": v})
			}
			files := make([]string, 0, len(byFile))
			for f := range byFile {
				files = append(files, f)
			}
			sort.Strings(files)
			for j, f := range files {
				as := fmt.Sprintf("update-values%s-%d", sfx, j+1)
				if err := add("yaml-update", as, map[string]any{"path": f, "updates": byFile[f]}); err != nil {
					return nil, err
				}
			}
		}
		msg := "${{ \"Promote Freight \" + ctx.targetFreight.name + \" to stage \" + ctx.stage }}"
		if err := add("git-commit", "commit"+sfx, map[string]any{"path": out, "message": msg}); err != nil {
			return nil, err
		}
		if err := add("git-push", "push"+sfx, map[string]any{"path": out, "targetBranch": u.WriteBranch}); err != nil {
			return nil, err
		}
	}
	for i, a := range m.ArgoCDAppUpdates {
		if a.AppName == "" {
			return nil, fmt.Errorf("spec.promotionMechanisms.argoCDAppUpdates[%d].appName is required", i)
		}
		ns := a.AppNamespace
		if ns == "" {
			ns = "argocd"
		}
		app := map[string]any{"name": a.AppName, "namespace": ns}
		if len(m.GitRepoUpdates) == 1 {
			app["sources"] = []any{map[string]any{
				"repoURL":         m.GitRepoUpdates[0].RepoURL,
				"desiredRevision": "${{ outputs.push.commit }}",
			}}
		}
		if err := add("argocd-update", fmt.Sprintf("argocd-update-%d", i+1), map[string]any{"apps": []any{app}}); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// helmImageExpression is the value a legacy Helm image update writes, as an expression
// over the Freight's image.
func helmImageExpression(img haulv1.HelmImageUpdate) (string, error) {
	from := "imageFrom(" + strconv.Quote(img.Image) + ")"
	switch img.Value {
	case "", "Image":
		return "${{ " + from + ".repoURL + \":\" + " + from + ".tag }}", nil
	case "Tag":
		return "${{ " + from + ".tag }}", nil
	case "Digest":
		return "${{ " + from + ".digest }}", nil
	case "ImageAndDigest":
		return "${{ " + from + ".repoURL + \"@\" + " + from + ".digest }}", nil
	}
	return "", fmt.Errorf("value %q: want Image, Tag, Digest or ImageAndDigest", img.Value)
}

// joinPath joins a work-dir path and a repository-relative path with a slash.
func joinPath(base, p string) string {
	for len(p) > 0 && (p[0] == '/' || (len(p) > 1 && p[:2] == "./")) {
		if p[0] == '/' {
			p = p[1:]
		} else {
			p = p[2:]
		}
	}
	if p == "" || p == "." {
		return base
	}
	return base + "/" + p
}

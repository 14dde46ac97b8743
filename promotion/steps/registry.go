package steps

import (
	"context"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// defaultTimeouts are the steps with a timeout of their own, used when retry.timeout
// is unset: argocd-update and argocd-wait wait five minutes for Argo CD, as Kargo's.
var defaultTimeouts = map[string]time.Duration{
	"argocd-update": 5 * time.Minute,
	"argocd-wait":   5 * time.Minute,
}

// builtin is the one list of Haul's built-in steps, by the name a step's `uses` gives.
var builtin = []struct {
	name string
	run  func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error)
}{
	{"argocd-update", argoCDUpdate},
	{"argocd-wait", argoCDWait},
	{"compose-output", composeOutput},
	{"copy", copyStep},
	{"delete", deleteStep},
	{"fail", fail},
	{"file-write", fileWrite},
	{"flux-reconcile", fluxReconcile},
	{"git-clear", gitClear},
	{"git-clone", gitClone},
	{"git-commit", gitCommit},
	{"git-merge-pr", gitMergePR},
	{"git-open-pr", gitOpenPR},
	{"git-push", gitPush},
	{"git-tag", gitTag},
	{"git-wait-for-pr", gitWaitForPR},
	{"github-push", githubPush},
	{"helm-template", helmTemplate},
	{"helm-update-chart", helmUpdateChart},
	{"http", httpStep},
	{"http-download", httpDownload},
	{"job", jobStep},
	{"json-parse", jsonParse},
	{"json-update", jsonUpdate},
	{"kustomize-build", kustomizeBuild},
	{"kustomize-set-image", kustomizeSetImage},
	{"oci-download", ociDownload},
	{"oci-push", ociPush},
	{"send-message", sendMessage},
	{"set-freight-alias", setFreightAlias},
	{"set-metadata", setMetadata},
	{"tar", tarStep},
	{"toml-parse", tomlParse},
	{"toml-update", tomlUpdate},
	{"untar", untar},
	{"wait-for-approval", waitForApproval},
	{"yaml-merge", yamlMerge},
	{"yaml-parse", yamlParse},
	{"yaml-update", yamlUpdate},
}

// Builtin returns a new registry holding every built-in step. Callers may add their own
// steps to it before handing it to an Engine.
func Builtin() *promotion.Registry {
	r := promotion.NewRegistry()
	for _, s := range builtin {
		run, timeout := s.run, defaultTimeouts[s.name]
		r.Register(s.name, func() promotion.Step {
			if timeout > 0 {
				return promotion.WithDefaultTimeout(promotion.StepFunc(run), timeout)
			}
			return promotion.StepFunc(run)
		})
	}
	return r
}

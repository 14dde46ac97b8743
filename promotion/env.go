package promotion

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/redact"
)

// env builds what the expressions of step i see.
func (e *Engine) env(ctx context.Context, req *Request, st *State, i int) (Env, error) {
	step := req.Steps[i]
	alias := st.Steps[i].Alias
	env := Env{
		"ctx": map[string]any{
			"project": req.Project, "stage": req.Stage, "promotion": req.Promotion,
			"targetFreight": map[string]any{
				"name": req.Freight.Name, "alias": req.Freight.Alias,
				"origin": map[string]any{"kind": string(req.Freight.Origin.Kind), "name": req.Freight.Origin.Name},
			},
		},
		"outputs":  st.Outputs,
		"task":     map[string]any{"outputs": map[string]any{}},
		"response": map[string]any{},
	}
	if t := taskAlias(alias); t != "" {
		prefix := t + TaskSeparator
		to := map[string]any{}
		for k, v := range st.Outputs {
			if strings.HasPrefix(k, prefix) {
				to[strings.TrimPrefix(k, prefix)] = v
			}
		}
		env["task"] = map[string]any{"outputs": to}
	}
	for name, fn := range e.funcs(ctx, req, st, i) {
		env[name] = fn
	}
	for name, fn := range kargoRenderFuncs() {
		env[name] = fn
	}
	vars := map[string]any{}
	env["vars"] = vars
	for _, list := range [][]haulv1.Var{req.Vars, step.Vars} {
		for _, v := range list {
			val, err := e.evaluator().EvalTemplate(v.Value, env)
			if err != nil {
				return nil, fmt.Errorf("var %q: %w", v.Name, err)
			}
			vars[v.Name] = val
		}
	}
	return env, nil
}

// StepOutcome says whether a step counts as failed for success()/failure().
func failedBefore(steps []haulv1.PromotionStep, st *State, i int) bool {
	for j := 0; j < i && j < len(st.Steps); j++ {
		if steps[j].ContinueOnError {
			continue
		}
		switch st.Steps[j].Status {
		case StatusFailed, StatusErrored, StatusAborted:
			return true
		}
	}
	return false
}

func (e *Engine) funcs(ctx context.Context, req *Request, st *State, i int) map[string]ExprFunc {
	failed := failedBefore(req.Steps, st, i)
	fr := req.Freight
	return map[string]ExprFunc{
		"quote": func(args ...any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("quote takes 1 argument")
			}
			return stringify(args[0])
		},
		"success": func(args ...any) (any, error) { return !failed, nil },
		"failure": func(args ...any) (any, error) { return failed, nil },
		"always":  func(args ...any) (any, error) { return true, nil },
		"status": func(args ...any) (any, error) {
			a, err := stringArg("status", args, 0)
			if err != nil {
				return nil, err
			}
			for _, m := range st.Steps[:i] {
				if m.Alias == a {
					return string(m.Status), nil
				}
			}
			return nil, fmt.Errorf("status(%q): no earlier step has that alias", a)
		},
		"warehouse": func(args ...any) (any, error) {
			n, err := stringArg("warehouse", args, 0)
			if err != nil {
				return nil, err
			}
			return withKargoNames(map[string]any{"kind": "Warehouse", "name": n}), nil
		},
		"imageFrom": func(args ...any) (any, error) {
			u, err := stringArg("imageFrom", args, 0)
			if err != nil {
				return nil, err
			}
			if err := checkOrigin(fr, args, 1); err != nil {
				return nil, err
			}
			for _, img := range fr.Images {
				if img.RepoURL == u {
					return withKargoNames(map[string]any{"repoURL": img.RepoURL, "tag": img.Tag, "digest": img.Digest}), nil
				}
			}
			return nil, fmt.Errorf("imageFrom(%q): the Freight has no image from that repository", u)
		},
		"commitFrom": func(args ...any) (any, error) {
			u, err := stringArg("commitFrom", args, 0)
			if err != nil {
				return nil, err
			}
			if err := checkOrigin(fr, args, 1); err != nil {
				return nil, err
			}
			for _, c := range fr.Commits {
				if c.RepoURL == u {
					return withKargoNames(map[string]any{"repoURL": c.RepoURL, "id": c.ID, "branch": c.Branch, "tag": c.Tag,
						"message": c.Message, "author": c.Author}), nil
				}
			}
			return nil, fmt.Errorf("commitFrom(%q): the Freight has no commit from that repository", u)
		},
		"chartFrom": func(args ...any) (any, error) {
			u, err := stringArg("chartFrom", args, 0)
			if err != nil {
				return nil, err
			}
			name := ""
			if len(args) > 1 {
				if s, ok := args[1].(string); ok {
					name = s
				} else if err := checkOrigin(fr, args, 1); err != nil {
					return nil, err
				}
			}
			for _, c := range fr.Charts {
				if c.RepoURL == u && (name == "" || c.Name == name) {
					return withKargoNames(map[string]any{"repoURL": c.RepoURL, "name": c.Name, "version": c.Version}), nil
				}
			}
			return nil, fmt.Errorf("chartFrom(%q): the Freight has no chart from that repository", u)
		},
		"secret": func(args ...any) (any, error) {
			n, err := stringArg("secret", args, 0)
			if err != nil {
				return nil, err
			}
			return e.secret(ctx, req.Secrets.Values(), req.Project, n)
		},
		"configMap": func(args ...any) (any, error) {
			n, err := stringArg("configMap", args, 0)
			if err != nil {
				return nil, err
			}
			return e.configMap(ctx, req.Project, n)
		},
		"semverParse": func(args ...any) (any, error) {
			s, err := stringArg("semverParse", args, 0)
			if err != nil {
				return nil, err
			}
			v, err := semver.NewVersion(s)
			if err != nil {
				return nil, fmt.Errorf("semverParse(%q): %w", s, err)
			}
			return map[string]any{"major": int(v.Major()), "minor": int(v.Minor()), "patch": int(v.Patch()),
				"prerelease": v.Prerelease(), "metadata": v.Metadata(), "original": v.Original()}, nil
		},
		"semverDiff": func(args ...any) (any, error) {
			a, err := stringArg("semverDiff", args, 0)
			if err != nil {
				return nil, err
			}
			b, err := stringArg("semverDiff", args, 1)
			if err != nil {
				return nil, err
			}
			return semverDiff(a, b), nil
		},
	}
}

func stringArg(fn string, args []any, i int) (string, error) {
	if len(args) <= i {
		return "", fmt.Errorf("%s: missing argument %d", fn, i+1)
	}
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("%s: argument %d must be a string, got %T", fn, i+1, args[i])
	}
	return s, nil
}

// checkOrigin rejects an explicit origin argument that is not the Promotion's Freight origin.
// withKargoNames adds, beside each of m's JSON-style keys (repoURL, tag, id), the Go
// field name Kargo's expressions use for it (RepoURL, Tag, ID): Kargo returns its API
// structs from imageFrom, commitFrom, chartFrom and warehouse, so real pipelines write
// imageFrom(url).Tag, while Haul's own documents use the lowercase names. Both work.
func withKargoNames(m map[string]any) map[string]any {
	for k, v := range m {
		if k == "" {
			continue
		}
		kargo := strings.ToUpper(k[:1]) + k[1:]
		if k == "id" {
			kargo = "ID"
		}
		m[kargo] = v
	}
	return m
}

func checkOrigin(fr haulv1.FreightReference, args []any, i int) error {
	if len(args) <= i || args[i] == nil {
		return nil
	}
	o, ok := args[i].(map[string]any)
	if !ok {
		return fmt.Errorf("origin argument must come from warehouse(name)")
	}
	if name, _ := o["name"].(string); name != fr.Origin.Name {
		return fmt.Errorf("the Freight being promoted comes from %s/%s, not %v", fr.Origin.Kind, fr.Origin.Name, o["name"])
	}
	return nil
}

func semverDiff(a, b string) string {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	switch {
	case errA != nil || errB != nil:
		return "Incomparable"
	case va.Major() != vb.Major():
		return "Major"
	case va.Minor() != vb.Minor():
		return "Minor"
	case va.Patch() != vb.Patch():
		return "Patch"
	case va.Prerelease() != vb.Prerelease():
		return "Prerelease"
	case va.Metadata() != vb.Metadata():
		return "Metadata"
	}
	return "None"
}

// secret returns the data of a generic-credential Secret in the project's own
// namespace, recording every value in secrets so that no message shows it.
func (e *Engine) secret(ctx context.Context, secrets *redact.Values, project, name string) (map[string]any, error) {
	if strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("secret(%q): only Secrets in the project's own namespace may be read", name)
	}
	if e.Services == nil || e.Services.Kube == nil {
		return nil, fmt.Errorf("secret(%q): %w", name, errNoServices)
	}
	s, err := e.Services.Kube.CoreV1().Secrets(project).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret(%q): not found or not readable", name)
	}
	if s.Labels[haulv1.LabelCredType] != "generic" {
		return nil, fmt.Errorf("secret(%q): only Secrets labelled %s=generic may be read by expressions", name, haulv1.LabelCredType)
	}
	data := secretData(s)
	for _, v := range data {
		secrets.Add(v.(string))
	}
	return data, nil
}

func secretData(s *corev1.Secret) map[string]any {
	out := map[string]any{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

func (e *Engine) configMap(ctx context.Context, project, name string) (map[string]any, error) {
	if strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("configMap(%q): only ConfigMaps in the project's own namespace may be read", name)
	}
	if e.Services == nil || e.Services.Kube == nil {
		return nil, fmt.Errorf("configMap(%q): %w", name, errNoServices)
	}
	cm, err := e.Services.Kube.CoreV1().ConfigMaps(project).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configMap(%q): not found or not readable", name)
	}
	out := map[string]any{}
	for k, v := range cm.Data {
		out[k] = v
	}
	return out, nil
}

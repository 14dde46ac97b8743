package promotion

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
			"uiBaseUrl": e.uiBaseURL(),
			"targetFreight": map[string]any{
				"name": req.Freight.Name, "alias": req.Freight.Alias,
				"origin": map[string]any{"kind": string(req.Freight.Origin.Kind), "name": req.Freight.Origin.Name},
			},
			"meta": map[string]any{
				// rollback is true only for the Stage controller's automatic rollbacks;
				// a Promotion of older Freight made by hand is not one.
				"promotion": map[string]any{"actor": req.Actor, "rollback": req.Rollback},
				"step":      map[string]any{"alias": alias},
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
	for name, fn := range e.kargoDataFuncs(ctx, req) {
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
			return Stringify(args[0])
		},
		"success": func(args ...any) (any, error) { return !failed, nil },
		"failure": func(args ...any) (any, error) { return failed, nil },
		"always":  func(args ...any) (any, error) { return true, nil },
		"status": func(args ...any) (any, error) {
			a, err := stringArg("status", args, 0)
			if err != nil {
				return nil, err
			}
			if a == "" {
				return nil, fmt.Errorf("status: the alias must not be empty")
			}
			return stepStatus(st.Steps[:i], st.Steps[i].Alias, a), nil
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
			// Kargo returns the parsed *semver.Version itself, so expressions call its
			// methods: semverParse(v).Major(), .IncMinor().String().
			v, err := semver.NewVersion(s)
			if err != nil {
				return nil, fmt.Errorf("semverParse(%q): invalid semantic version: %w", s, err)
			}
			return v, nil
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
	case va.Metadata() != vb.Metadata():
		return "Metadata"
	}
	return "None"
}

// secret is secret(name): a generic-credential Secret of the project's own namespace.
func (e *Engine) secret(ctx context.Context, secrets *redact.Values, project, name string) (map[string]any, error) {
	return e.readSecret(ctx, secrets, project, name, "secret")
}

// readSecret returns the data of a Secret labelled haul.dev/cred-type=generic in
// namespace ns, recording every value in secrets so that no message shows it. A
// missing Secret is an empty map, as in Kargo; a Secret without the label (repository
// credentials, service account tokens) is refused.
func (e *Engine) readSecret(ctx context.Context, secrets *redact.Values, ns, name, fn string) (map[string]any, error) {
	if strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("%s(%q): only a name is accepted; Secrets are read from %s", fn, name, whereRead(fn))
	}
	if e.Services == nil || e.Services.Kube == nil {
		return nil, fmt.Errorf("%s(%q): %w", fn, name, errNoServices)
	}
	s, err := e.Services.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s(%q): not readable", fn, name)
	}
	if s.Labels[haulv1.LabelCredType] != "generic" {
		return nil, fmt.Errorf("%s(%q): only Secrets labelled %s=generic may be read by expressions", fn, name, haulv1.LabelCredType)
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
	return e.readConfigMap(ctx, project, name, "configMap")
}

// readConfigMap returns the data of a ConfigMap in namespace ns; a missing one is an
// empty map, as in Kargo.
func (e *Engine) readConfigMap(ctx context.Context, ns, name, fn string) (map[string]any, error) {
	if strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("%s(%q): only a name is accepted; ConfigMaps are read from %s", fn, name, whereRead(fn))
	}
	if e.Services == nil || e.Services.Kube == nil {
		return nil, fmt.Errorf("%s(%q): %w", fn, name, errNoServices)
	}
	cm, err := e.Services.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s(%q): not readable", fn, name)
	}
	out := map[string]any{}
	for k, v := range cm.Data {
		out[k] = v
	}
	return out, nil
}

// whereRead names the one namespace a reading function may read.
func whereRead(fn string) string {
	if strings.HasPrefix(fn, "shared") {
		return "the shared resources namespace"
	}
	return "the project's own namespace"
}

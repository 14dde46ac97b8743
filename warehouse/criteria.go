package warehouse

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Criteria is a compiled freightCreationCriteria.expression.
type Criteria struct {
	src  string
	prog *vm.Program
}

type criteriaEnv struct {
	images  []haulv1.Image
	commits []haulv1.GitCommit
	charts  []haulv1.Chart
}

func (e *criteriaEnv) options() []expr.Option {
	return []expr.Option{
		expr.Function("imageFrom", func(p ...any) (any, error) {
			u, err := stringArg("imageFrom", p, 0)
			if err != nil {
				return nil, err
			}
			for _, i := range e.images {
				if i.RepoURL == u || NormalizeRepoURL(i.RepoURL) == NormalizeRepoURL(u) {
					return map[string]any{"repoURL": i.RepoURL, "tag": i.Tag, "digest": i.Digest}, nil
				}
			}
			return nil, fmt.Errorf("imageFrom(%q): no such image in the discovered artifacts", u)
		}),
		expr.Function("commitFrom", func(p ...any) (any, error) {
			u, err := stringArg("commitFrom", p, 0)
			if err != nil {
				return nil, err
			}
			for _, c := range e.commits {
				if c.RepoURL == u || NormalizeRepoURL(c.RepoURL) == NormalizeRepoURL(u) {
					return map[string]any{"repoURL": c.RepoURL, "id": c.ID, "tag": c.Tag, "branch": c.Branch, "message": c.Message, "author": c.Author}, nil
				}
			}
			return nil, fmt.Errorf("commitFrom(%q): no such repository in the discovered artifacts", u)
		}),
		expr.Function("chartFrom", func(p ...any) (any, error) {
			u, err := stringArg("chartFrom", p, 0)
			if err != nil {
				return nil, err
			}
			name := ""
			if len(p) > 1 {
				if name, err = stringArg("chartFrom", p, 1); err != nil {
					return nil, err
				}
			}
			for _, c := range e.charts {
				if (c.RepoURL == u || NormalizeRepoURL(c.RepoURL) == NormalizeRepoURL(u)) && c.Name == name {
					return map[string]any{"repoURL": c.RepoURL, "name": c.Name, "version": c.Version}, nil
				}
			}
			return nil, fmt.Errorf("chartFrom(%q, %q): no such chart in the discovered artifacts", u, name)
		}),
		expr.AsBool(),
		expr.MaxNodes(maxExpressionNodes),
	}
}

func stringArg(fn string, p []any, i int) (string, error) {
	if len(p) <= i {
		return "", fmt.Errorf("%s: missing argument %d", fn, i+1)
	}
	s, ok := p[i].(string)
	if !ok {
		return "", fmt.Errorf("%s: argument %d must be a string", fn, i+1)
	}
	return s, nil
}

// CompileCriteria compiles a freightCreationCriteria expression; an empty one always passes.
func CompileCriteria(src string) (*Criteria, error) {
	if src == "" {
		return &Criteria{}, nil
	}
	p, err := expr.Compile(src, (&criteriaEnv{}).options()...)
	if err != nil {
		return nil, &InvalidConstraintError{Field: "spec.freightCreationCriteria.expression", Value: src, Err: err}
	}
	return &Criteria{src: src, prog: p}, nil
}

// Allows evaluates the criteria over the artifacts a Freight would hold.
func (c *Criteria) Allows(images []haulv1.Image, commits []haulv1.GitCommit, charts []haulv1.Chart) (bool, error) {
	if c == nil || c.prog == nil {
		return true, nil
	}
	env := &criteriaEnv{images: images, commits: commits, charts: charts}
	// Functions are bound at compile time, so recompile against this env's closures; the
	// program was already validated, and expressions are small.
	p, err := expr.Compile(c.src, env.options()...)
	if err != nil {
		return false, err
	}
	out, err := expr.Run(p, nil)
	if err != nil {
		return false, fmt.Errorf("evaluating freightCreationCriteria.expression: %w", err)
	}
	b, _ := out.(bool)
	return b, nil
}

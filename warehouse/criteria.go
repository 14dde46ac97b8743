package warehouse

import (
	"fmt"
	"strings"

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

// The values imageFrom, commitFrom and chartFrom give a criteria expression answer to
// Kargo's field names (its DiscoveredImageReference, DiscoveredCommit and Chart, as in
// imageFrom('ghcr.io/acme/app').Tag) and to Haul's JSON names (.tag). Typed results
// let the compiler refuse a field no artifact has, instead of it reading as nil.

// criteriaImage is an image as a criteria expression sees it.
type criteriaImage struct {
	RepoURL, Tag, Digest string
	Annotations          map[string]string
	RepoURLLower         string            `expr:"repoURL"`
	TagLower             string            `expr:"tag"`
	DigestLower          string            `expr:"digest"`
	AnnotationsLower     map[string]string `expr:"annotations"`
}

// criteriaCommit is a Git commit as a criteria expression sees it; Subject is the first
// line of the message, as Kargo's DiscoveredCommit has it.
type criteriaCommit struct {
	RepoURL, ID, Branch, Tag, Subject, Message, Author, Committer string
	RepoURLLower                                                  string `expr:"repoURL"`
	IDLower                                                       string `expr:"id"`
	BranchLower                                                   string `expr:"branch"`
	TagLower                                                      string `expr:"tag"`
	SubjectLower                                                  string `expr:"subject"`
	MessageLower                                                  string `expr:"message"`
	AuthorLower                                                   string `expr:"author"`
	CommitterLower                                                string `expr:"committer"`
}

// criteriaChart is a Helm chart as a criteria expression sees it.
type criteriaChart struct {
	RepoURL, Name, Version string
	RepoURLLower           string `expr:"repoURL"`
	NameLower              string `expr:"name"`
	VersionLower           string `expr:"version"`
}

// options are the criteria functions. As in Kargo, one that finds no such artifact
// returns nil (so `imageFrom(u)?.Tag ?? ""` works), and reading a field of nil fails
// the evaluation, naming the expression.
func (e *criteriaEnv) options() []expr.Option {
	return []expr.Option{
		expr.Function("imageFrom", func(p ...any) (any, error) {
			u, err := stringArg("imageFrom", p, 0)
			if err != nil {
				return nil, err
			}
			for _, i := range e.images {
				if i.RepoURL == u || NormalizeRepoURL(i.RepoURL) == NormalizeRepoURL(u) {
					return &criteriaImage{
						RepoURL: i.RepoURL, Tag: i.Tag, Digest: i.Digest, Annotations: i.Annotations,
						RepoURLLower: i.RepoURL, TagLower: i.Tag, DigestLower: i.Digest, AnnotationsLower: i.Annotations,
					}, nil
				}
			}
			return nil, nil
		}, new(func(string) *criteriaImage)),
		expr.Function("commitFrom", func(p ...any) (any, error) {
			u, err := stringArg("commitFrom", p, 0)
			if err != nil {
				return nil, err
			}
			for _, c := range e.commits {
				if c.RepoURL == u || NormalizeRepoURL(c.RepoURL) == NormalizeRepoURL(u) {
					subject, _, _ := strings.Cut(c.Message, "\n")
					return &criteriaCommit{
						RepoURL: c.RepoURL, ID: c.ID, Branch: c.Branch, Tag: c.Tag, Subject: subject, Message: c.Message, Author: c.Author, Committer: c.Committer,
						RepoURLLower: c.RepoURL, IDLower: c.ID, BranchLower: c.Branch, TagLower: c.Tag, SubjectLower: subject, MessageLower: c.Message, AuthorLower: c.Author, CommitterLower: c.Committer,
					}, nil
				}
			}
			return nil, nil
		}, new(func(string) *criteriaCommit)),
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
			// An OCI chart's name is in its URL: without a name any chart of the
			// repository matches, as in Kargo.
			for _, c := range e.charts {
				if (c.RepoURL == u || NormalizeRepoURL(c.RepoURL) == NormalizeRepoURL(u)) && (name == "" || c.Name == name) {
					return &criteriaChart{
						RepoURL: c.RepoURL, Name: c.Name, Version: c.Version,
						RepoURLLower: c.RepoURL, NameLower: c.Name, VersionLower: c.Version,
					}, nil
				}
			}
			return nil, nil
		}, new(func(string, string) *criteriaChart), new(func(string) *criteriaChart)),
		// No variables: an unknown name (a function discovery does not offer, a typo)
		// is refused when the expression compiles.
		expr.Env(map[string]any{}),
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
	out, err := expr.Run(p, map[string]any{})
	if err != nil {
		return false, fmt.Errorf("evaluating freightCreationCriteria.expression: %w", err)
	}
	b, _ := out.(bool)
	return b, nil
}

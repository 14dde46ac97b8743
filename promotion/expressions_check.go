package promotion

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// The types below describe, for the type checker only, what expressions in step
// configs, step conditions and vars see at run time (see Engine.env): ctx's fields,
// and what each function returns. Artifact results answer to Kargo's Go field names and
// to Haul's JSON names, as the maps the functions return at run time do.

type checkOriginType struct {
	Kind      string
	Name      string
	KindLower string `expr:"kind"`
	NameLower string `expr:"name"`
}

type checkImageType struct {
	RepoURL, Tag, Digest string
	RepoURLLower         string `expr:"repoURL"`
	TagLower             string `expr:"tag"`
	DigestLower          string `expr:"digest"`
}

type checkCommitType struct {
	RepoURL, ID, Branch, Tag, Message, Author string
	RepoURLLower                              string `expr:"repoURL"`
	IDLower                                   string `expr:"id"`
	BranchLower                               string `expr:"branch"`
	TagLower                                  string `expr:"tag"`
	MessageLower                              string `expr:"message"`
	AuthorLower                               string `expr:"author"`
}

type checkChartType struct {
	RepoURL, Name, Version string
	RepoURLLower           string `expr:"repoURL"`
	NameLower              string `expr:"name"`
	VersionLower           string `expr:"version"`
}

// checkArtifactType is Kargo's expression-friendly artifact reference.
type checkArtifactType struct {
	ArtifactType, SubscriptionName, Version string
	Metadata                                map[string]any
}

type checkCtxType struct {
	Project       string `expr:"project"`
	Stage         string `expr:"stage"`
	Promotion     string `expr:"promotion"`
	UIBaseURL     string `expr:"uiBaseUrl"`
	TargetFreight struct {
		Name   string `expr:"name"`
		Alias  string `expr:"alias"`
		Origin struct {
			Kind string `expr:"kind"`
			Name string `expr:"name"`
		} `expr:"origin"`
	} `expr:"targetFreight"`
	Meta struct {
		Promotion struct {
			Actor    string `expr:"actor"`
			Rollback bool   `expr:"rollback"`
		} `expr:"promotion"`
		Step struct {
			Alias string `expr:"alias"`
		} `expr:"step"`
	} `expr:"meta"`
}

type checkTaskType struct {
	Outputs map[string]any `expr:"outputs"`
}

// checkFunctions gives every expression function its typed signatures (Kargo's), so
// the checker rejects unknown functions and wrong argument counts or types.
func checkFunctions() []expr.Option {
	none := func(...any) (any, error) { return nil, nil }
	fn := func(name string, types ...any) expr.Option { return expr.Function(name, none, types...) }
	return []expr.Option{
		fn("quote", new(func(any) string)),
		fn("unsafeQuote", new(func(any) string)),
		fn("asJSON", new(func(any) string)),
		fn("asYAML", new(func(any) string)),
		fn("warehouse", new(func(string) checkOriginType)),
		fn("imageFrom", new(func(string, checkOriginType) checkImageType), new(func(string) checkImageType)),
		fn("commitFrom", new(func(string, checkOriginType) checkCommitType), new(func(string) checkCommitType)),
		fn("chartFrom",
			new(func(string, string, checkOriginType) checkChartType), new(func(string, string) checkChartType),
			new(func(string, checkOriginType) checkChartType), new(func(string) checkChartType)),
		fn("artifactFrom", new(func(string, checkOriginType) checkArtifactType), new(func(string) checkArtifactType)),
		fn("freightMetadata", new(func(string) map[string]any)),
		fn("freightStatus", new(func(string) map[string]any)),
		fn("stageMetadata", new(func(string) map[string]any)),
		fn("secret", new(func(string) map[string]string)),
		fn("configMap", new(func(string) map[string]string)),
		fn("sharedSecret", new(func(string) map[string]string)),
		fn("sharedConfigMap", new(func(string) map[string]string)),
		fn("success", new(func() bool)),
		fn("failure", new(func() bool)),
		fn("always", new(func() bool)),
		fn("status", new(func(string) string)),
		fn("semverDiff", new(func(string, string) string)),
		fn("semverParse", new(func(string) *semver.Version)),
	}
}

// CheckExpression type-checks one step expression (the body of a ${{ }}, a step's if,
// a var's value) against the environment steps see, without running it: an unknown
// function, variable or ctx field, a field an artifact does not have, or a wrong
// number or type of arguments is an error. vars, outputs and task.outputs depend on
// the pipeline, so any key of theirs passes.
func CheckExpression(src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("checking expression: %v", r)
		}
	}()
	if len(src) > MaxExpressionSize {
		return fmt.Errorf("expression is %d bytes, longer than the limit of %d", len(src), MaxExpressionSize)
	}
	if strings.TrimSpace(src) == "" {
		return errors.New("empty expression")
	}
	env := map[string]any{
		"ctx":      checkCtxType{},
		"vars":     map[string]any{},
		"outputs":  map[string]any{},
		"task":     checkTaskType{},
		"response": map[string]any{},
	}
	opts := append([]expr.Option{expr.Env(env), expr.MaxNodes(MaxExpressionNodes), expr.DisableBuiltin("repeat")}, checkFunctions()...)
	_, err = expr.Compile(src, opts...)
	return err
}

// OutputReference is one constant reference of an expression to an earlier step's
// outputs: outputs.<Alias>[.<Key>] or task.outputs.<Alias>[.<Key>], in dot or bracket
// form.
type OutputReference struct {
	// Task is true for task.outputs (the steps of the same task), false for outputs.
	Task bool
	// Alias is the step alias referenced.
	Alias string
	// Key is the output key, empty when the expression uses the step's whole output.
	Key string
}

// OutputReferences lists the references of an expression to step outputs whose alias
// (and key) are constants. References computed at run time (outputs[vars.step]) are
// left out: they cannot be checked before the Promotion runs.
func OutputReferences(src string) ([]OutputReference, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	v := &outputRefVisitor{}
	ast.Walk(&tree.Node, v)
	return v.refs, nil
}

type outputRefVisitor struct {
	refs []OutputReference
	// inner are the member nodes already counted as part of a longer reference.
	inner map[ast.Node]bool
}

// Visit is called bottom-up; the outermost member node of a chain is visited last,
// so each chain is recorded at its shortest constant form first and then extended.
func (v *outputRefVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	ref, inner, ok := outputRef(m)
	if !ok {
		return
	}
	if v.inner == nil {
		v.inner = map[ast.Node]bool{}
	}
	if inner != nil && v.inner[inner] {
		// outputs.X was recorded on its own; outputs.X.K supersedes it.
		for i := len(v.refs) - 1; i >= 0; i-- {
			if v.refs[i].Alias == ref.Alias && v.refs[i].Task == ref.Task && v.refs[i].Key == "" {
				v.refs = append(v.refs[:i], v.refs[i+1:]...)
				break
			}
		}
	}
	v.inner[m] = true
	v.refs = append(v.refs, ref)
}

// outputRef reads m as outputs.X, outputs.X.K, task.outputs.X or task.outputs.X.K;
// inner is the outputs.X node of an outputs.X.K.
func outputRef(m *ast.MemberNode) (ref OutputReference, inner ast.Node, ok bool) {
	if alias, task, ok := outputsAlias(m); ok {
		return OutputReference{Task: task, Alias: alias}, nil, true
	}
	key, ok := constString(m.Property)
	if !ok {
		return ref, nil, false
	}
	parent, ok := unchain(m.Node).(*ast.MemberNode)
	if !ok {
		return ref, nil, false
	}
	alias, task, ok := outputsAlias(parent)
	if !ok {
		return ref, nil, false
	}
	return OutputReference{Task: task, Alias: alias, Key: key}, parent, true
}

// outputsAlias reads m as outputs.X or task.outputs.X.
func outputsAlias(m *ast.MemberNode) (alias string, task bool, ok bool) {
	alias, ok = constString(m.Property)
	if !ok {
		return "", false, false
	}
	switch n := unchain(m.Node).(type) {
	case *ast.IdentifierNode:
		return alias, false, n.Value == "outputs"
	case *ast.MemberNode:
		id, isID := unchain(n.Node).(*ast.IdentifierNode)
		prop, isConst := constString(n.Property)
		return alias, true, isID && id.Value == "task" && isConst && prop == "outputs"
	}
	return "", false, false
}

func unchain(n ast.Node) ast.Node {
	if c, ok := n.(*ast.ChainNode); ok {
		return c.Node
	}
	return n
}

func constString(n ast.Node) (string, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

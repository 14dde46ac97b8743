package promotion

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits on expressions, so that a hostile template cannot exhaust the controller.
const (
	// MaxExpressionSize is the longest source accepted for one ${{ }} expression.
	MaxExpressionSize = 8 << 10
	// MaxExpressionNodes bounds the AST size of one expression.
	MaxExpressionNodes = 1000
	// exprCacheSize bounds the compiled-program cache.
	exprCacheSize = 1024
)

// ExprFuncNames are the functions available to expressions; Env must provide each.
var ExprFuncNames = []string{
	"quote", "imageFrom", "commitFrom", "chartFrom", "warehouse", "secret", "configMap",
	"success", "failure", "always", "status", "semverParse", "semverDiff",
	"unsafeQuote", "asJSON", "asYAML",
	"freightMetadata", "freightStatus", "stageMetadata", "sharedSecret", "sharedConfigMap", "artifactFrom",
}

// ExprFunc is the signature of every expression function.
type ExprFunc = func(args ...any) (any, error)

// Env is what an expression sees: ctx, vars, outputs, task and the functions.
type Env map[string]any

// compileEnv is the shape expressions are type-checked against.
func compileEnv() map[string]any {
	env := map[string]any{
		"ctx": map[string]any{}, "vars": map[string]any{}, "outputs": map[string]any{},
		"task": map[string]any{}, "response": map[string]any{},
	}
	for _, n := range ExprFuncNames {
		env[n] = ExprFunc(func(...any) (any, error) { return nil, nil })
	}
	return env
}

// Evaluator compiles and runs ${{ }} expressions, caching compiled programs.
type Evaluator struct {
	mu    sync.Mutex
	ll    *list.List
	cache map[string]*list.Element
	env   map[string]any
}

type cacheEntry struct {
	src  string
	prog *vm.Program
	err  error
}

// NewEvaluator returns an Evaluator with an empty cache.
func NewEvaluator() *Evaluator {
	return &Evaluator{ll: list.New(), cache: map[string]*list.Element{}, env: compileEnv()}
}

// NewEvaluatorWith returns an Evaluator for expressions over other top-level
// variables than a step's (the notification routers' type, event and data) and no
// functions: a call is refused when compiled. vars maps each name to a value of its
// type (a map for objects).
func NewEvaluatorWith(vars map[string]any) *Evaluator {
	env := map[string]any{}
	for k, v := range vars {
		env[k] = v
	}
	return &Evaluator{ll: list.New(), cache: map[string]*list.Element{}, env: env}
}

var defaultEvaluator = NewEvaluator()

// compile returns the cached program for src, compiling it on a miss.
func (e *Evaluator) compile(src string) (*vm.Program, error) {
	if len(src) > MaxExpressionSize {
		return nil, fmt.Errorf("expression is %d bytes, longer than the limit of %d", len(src), MaxExpressionSize)
	}
	e.mu.Lock()
	if el, ok := e.cache[src]; ok {
		e.ll.MoveToFront(el)
		ce := el.Value.(*cacheEntry)
		e.mu.Unlock()
		return ce.prog, ce.err
	}
	e.mu.Unlock()
	prog, err := compileStrict(src, e.env)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[src]; !ok {
		e.cache[src] = e.ll.PushFront(&cacheEntry{src: src, prog: prog, err: err})
		for e.ll.Len() > exprCacheSize {
			last := e.ll.Back()
			e.ll.Remove(last)
			delete(e.cache, last.Value.(*cacheEntry).src)
		}
	}
	return prog, err
}

func compileStrict(src string, env map[string]any) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("compiling expression: %v", r)
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	lenient := map[ast.Node]bool{}
	return expr.Compile(src,
		expr.Env(env),
		expr.MaxNodes(MaxExpressionNodes),
		expr.DisableBuiltin("repeat"),
		expr.Function("$get", strictGet),
		// Two passes: find lenient member nodes first, then rewrite the rest.
		expr.Patch(lenientMembers(lenient)),
		expr.Patch(&strictMembers{lenient: lenient}),
	)
}

// strictMembers rewrites member access a.b into $get(a, "b", "a.b") so that a missing
// key is an error naming the path, not a silent nil. Optional access (a?.b) and the left
// side of ?? stay lenient.
type strictMembers struct {
	lenient map[ast.Node]bool
}

// lenientMembers records member nodes under ?? (left side) and optional chains.
func lenientMembers(set map[ast.Node]bool) ast.Visitor {
	return visitorFunc(func(node *ast.Node) {
		switch n := (*node).(type) {
		case *ast.BinaryNode:
			if n.Operator == "??" {
				markLenient(n.Left, set)
			}
		case *ast.ChainNode:
			markLenient(n.Node, set)
		}
	})
}

func (p *strictMembers) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if n.Optional || n.Method || p.lenient[n] {
			return
		}
		path := memberPath(n)
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "$get"},
			Arguments: []ast.Node{n.Node, n.Property, &ast.StringNode{Value: path}},
		}
		ast.Patch(node, call)
	}
}

// markLenient marks every member node below n.
func markLenient(n ast.Node, set map[ast.Node]bool) {
	ast.Walk(&n, visitorFunc(func(node *ast.Node) {
		if m, ok := (*node).(*ast.MemberNode); ok {
			set[m] = true
		}
	}))
}

type visitorFunc func(node *ast.Node)

func (f visitorFunc) Visit(node *ast.Node) { f(node) }

// memberPath renders a.b['c'][0] for error messages, seeing through $get calls.
func memberPath(n ast.Node) string {
	switch v := n.(type) {
	case *ast.IdentifierNode:
		return v.Value
	case *ast.CallNode:
		if id, ok := v.Callee.(*ast.IdentifierNode); ok && id.Value == "$get" && len(v.Arguments) == 3 {
			if s, ok := v.Arguments[2].(*ast.StringNode); ok {
				return s.Value
			}
		}
	case *ast.MemberNode:
		base := memberPath(v.Node)
		switch prop := v.Property.(type) {
		case *ast.StringNode:
			if isIdent(prop.Value) {
				return base + "." + prop.Value
			}
			return base + "[" + strconv.Quote(prop.Value) + "]"
		case *ast.IntegerNode:
			return base + "[" + strconv.Itoa(prop.Value) + "]"
		default:
			return base + "[" + v.Property.String() + "]"
		}
	}
	return n.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// strictGet is $get(obj, key, path).
func strictGet(args ...any) (out any, err error) {
	if len(args) != 3 {
		return nil, errors.New("internal: $get needs 3 arguments")
	}
	obj, key := args[0], args[1]
	path, _ := args[2].(string)
	defer func() {
		// An output saved masked and lost in a restart is never read as "***".
		if lost, ok := out.(lostSecret); ok {
			out, err = nil, lost.err()
		}
	}()
	switch o := obj.(type) {
	case nil:
		return nil, fmt.Errorf("%s is not defined (its parent is nil)", path)
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("%s: key must be a string, got %T", path, key)
		}
		v, ok := o[k]
		if !ok {
			return nil, fmt.Errorf("%s is not defined", path)
		}
		return v, nil
	case map[string]string:
		k, _ := key.(string)
		v, ok := o[k]
		if !ok {
			return nil, fmt.Errorf("%s is not defined", path)
		}
		return v, nil
	case []any:
		i, ok := toInt(key)
		if !ok {
			return nil, fmt.Errorf("%s: index must be an integer", path)
		}
		if i < 0 {
			i += len(o)
		}
		if i < 0 || i >= len(o) {
			return nil, fmt.Errorf("%s is out of range (length %d)", path, len(o))
		}
		return o[i], nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %v", path, r)
		}
	}()
	if rv := reflect.ValueOf(obj); rv.Kind() == reflect.Map {
		mv := rv.MapIndex(reflect.ValueOf(key))
		if !mv.IsValid() {
			return nil, fmt.Errorf("%s is not defined", path)
		}
		return mv.Interface(), nil
	}
	return runtime.Fetch(obj, key), nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}

// run evaluates one expression source against env.
func (e *Evaluator) run(src string, env Env) (out any, err error) {
	prog, err := e.compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %w", abbrev(src), err)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("evaluating %q: %v", abbrev(src), r)
		}
	}()
	out, err = expr.Run(prog, map[string]any(env))
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", abbrev(src), firstLine(err))
	}
	return out, nil
}

func firstLine(err error) error {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return errors.New(s)
}

func abbrev(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// delimiters are the pairs that open and close an expression; Kargo offers ${% %} for
// expressions that must contain "}}".
var delimiters = [][2]string{{"${{", "}}"}, {"${%", "%}"}}

// nextExpression splits s around its first expression. found is false when s holds none.
func nextExpression(s string) (before, body, after string, found bool, err error) {
	start, d := -1, delimiters[0]
	for _, c := range delimiters {
		if i := strings.Index(s, c[0]); i >= 0 && (start < 0 || i < start) {
			start, d = i, c
		}
	}
	if start < 0 {
		return "", "", s, false, nil
	}
	rest := s[start+len(d[0]):]
	j := strings.Index(rest, d[1])
	if j < 0 {
		return "", "", "", false, fmt.Errorf("unterminated expression: expected %q in %q", d[1], abbrev(s))
	}
	return s[:start], rest[:j], rest[j+len(d[1]):], true, nil
}

// TemplateExpressions returns the body of every expression in s, ${{ }} and ${% %}
// alike, in order, or an error naming the first that is not closed.
func TemplateExpressions(s string) ([]string, error) {
	var out []string
	for {
		_, body, after, found, err := nextExpression(s)
		if err != nil || !found {
			return out, err
		}
		out = append(out, strings.TrimSpace(body))
		s = after
	}
}

// EvalTemplate evaluates a string that may hold ${{ }} (or ${% %}) expressions. A
// string that is exactly one expression keeps the result's type; otherwise results are
// spliced into the text. Results are never evaluated again, so Freight data stays data.
func (e *Evaluator) EvalTemplate(s string, env Env) (any, error) {
	before, body, after, found, err := nextExpression(s)
	if err != nil {
		return nil, err
	}
	if !found {
		return s, nil
	}
	if strings.TrimSpace(before) == "" && strings.TrimSpace(after) == "" {
		return e.run(body, env)
	}
	var b strings.Builder
	for found {
		b.WriteString(before)
		v, err := e.run(body, env)
		if err != nil {
			return nil, err
		}
		str, err := Stringify(v)
		if err != nil {
			return nil, fmt.Errorf("expression %q: %w", abbrev(body), err)
		}
		b.WriteString(str)
		if before, body, after, found, err = nextExpression(after); err != nil {
			return nil, err
		}
	}
	b.WriteString(after)
	return b.String(), nil
}

// Stringify renders an expression result spliced into text: a string as it is, a bool
// or number in Go's plain form, anything else as JSON. nil is refused, so that a
// missing value never becomes the text "null" or "<nil>".
func Stringify(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", errors.New("evaluated to nil; refusing to render it into text")
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// EvalValue evaluates every string inside v (maps, slices, strings) and returns a copy.
func (e *Evaluator) EvalValue(v any, env Env, path string) (any, error) {
	switch x := v.(type) {
	case string:
		out, err := e.EvalTemplate(x, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			ev, err := e.EvalValue(val, env, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			ev, err := e.EvalValue(val, env, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return v, nil
}

// EvalBool evaluates a condition; it may be a bare expression or one ${{ }}.
func (e *Evaluator) EvalBool(s string, env Env) (bool, error) {
	var v any
	var err error
	if strings.Contains(s, "${{") || strings.Contains(s, "${%") {
		v, err = e.EvalTemplate(s, env)
	} else {
		v, err = e.run(s, env)
	}
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if pb, perr := strconv.ParseBool(b); perr == nil {
			return pb, nil
		}
	}
	return false, fmt.Errorf("condition %q is %T, not a boolean", abbrev(s), v)
}

// EvalTemplate evaluates s with the package's shared Evaluator.
func EvalTemplate(s string, env Env) (any, error) { return defaultEvaluator.EvalTemplate(s, env) }

// EvalBool evaluates a condition with the package's shared Evaluator.
func EvalBool(s string, env Env) (bool, error) { return defaultEvaluator.EvalBool(s, env) }

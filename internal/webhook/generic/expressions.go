package generic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/haul-dev/haul/promotion"
)

// compile compiles src against the action environment, within the size and AST bounds
// of promotion expressions. asBool demands a boolean result where its type is known.
func compile(src string, asBool bool) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("compiling expression: %v", r)
		}
	}()
	if len(src) > promotion.MaxExpressionSize {
		return nil, fmt.Errorf("expression is %d bytes, longer than the limit of %d", len(src), promotion.MaxExpressionSize)
	}
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	opts := []expr.Option{expr.Env(typeEnv()), expr.MaxNodes(promotion.MaxExpressionNodes), expr.DisableBuiltin("repeat")}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return expr.Compile(src, opts...)
}

func run(prog *vm.Program, env Env) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("evaluating expression: %v", r)
		}
	}()
	return expr.Run(prog, env)
}

// When evaluates a whenExpression: empty holds; anything else must yield a boolean.
func When(src string, env Env) (bool, error) {
	if src == "" {
		return true, nil
	}
	prog, err := compile(src, true)
	if err != nil {
		return false, err
	}
	out, err := run(prog, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("whenExpression yielded %T, not a boolean", out)
	}
	return b, nil
}

// Template evaluates a string that may hold ${{ }} expressions and must yield a string:
// text without expressions is returned as it is; a string that is exactly one
// expression must yield a string (as in Kargo); expressions inside text are spliced in.
func Template(s string, env Env) (string, error) {
	var b strings.Builder
	rest := s
	for {
		before, body, after, found, err := next(rest)
		if err != nil {
			return "", err
		}
		if !found {
			if b.Len() == 0 {
				return s, nil
			}
			b.WriteString(rest)
			return b.String(), nil
		}
		prog, err := compile(strings.TrimSpace(body), false)
		if err != nil {
			return "", err
		}
		v, err := run(prog, env)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(before) == "" && strings.TrimSpace(after) == "" && b.Len() == 0 {
			str, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("expression %q yielded %T, not a string", short(body), v)
			}
			return str, nil
		}
		str, err := promotion.Stringify(v)
		if err != nil {
			return "", fmt.Errorf("expression %q: %w", short(body), err)
		}
		b.WriteString(before)
		b.WriteString(str)
		rest = after
		if b.Len() > 64<<10 {
			return "", errors.New("template result is longer than 64 KiB")
		}
	}
}

// Parameters evaluates an action's parameters (each a template) into params.
func Parameters(params map[string]string, env Env) (map[string]string, error) {
	out := make(map[string]string, len(params))
	for k, v := range params {
		s, err := Template(v, env)
		if err != nil {
			return nil, fmt.Errorf("parameters.%s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// next splits s around its first ${{ }} expression.
func next(s string) (before, body, after string, found bool, err error) {
	i := strings.Index(s, "${{")
	if i < 0 {
		return "", "", s, false, nil
	}
	rest := s[i+3:]
	j := strings.Index(rest, "}}")
	if j < 0 {
		return "", "", "", false, fmt.Errorf("unterminated expression: expected \"}}\" in %q", short(s))
	}
	return s[:i], rest[:j], rest[j+2:], true, nil
}

func short(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}

package manifest

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"

	"github.com/haul-dev/haul/promotion"
)

// compileExpression checks that an expression parses, within the same size and AST
// bounds the controller applies (so `haul apply` never accepts what a Promotion would
// then refuse). Variables and functions are not known here (they depend on the
// Promotion), so only syntax is checked.
func compileExpression(body string) error {
	if len(body) > promotion.MaxExpressionSize {
		return fmt.Errorf("expression is %d bytes, longer than the limit of %d", len(body), promotion.MaxExpressionSize)
	}
	if strings.TrimSpace(body) == "" {
		return fmt.Errorf("empty expression")
	}
	if _, err := expr.Compile(body, expr.MaxNodes(promotion.MaxExpressionNodes)); err != nil {
		return fmt.Errorf("expression %q does not compile: %s", Shorten(body, 80), firstLine(err.Error()))
	}
	return nil
}

// checkStepExpression checks a step expression's syntax and then its types against
// the environment steps see (promotion.CheckExpression): unknown functions, variables
// and fields, and wrong argument counts, fail here instead of mid-promotion.
func checkStepExpression(body string) error {
	if err := compileExpression(body); err != nil {
		return err
	}
	if err := promotion.CheckExpression(body); err != nil {
		return fmt.Errorf("expression %q: %s", Shorten(body, 80), firstLine(err.Error()))
	}
	return nil
}

// checkTemplate checks every ${{ }} and ${% %} in s (step configs and vars).
func checkTemplate(s string) error {
	bodies, err := promotion.TemplateExpressions(s)
	if err != nil {
		return err
	}
	for _, b := range bodies {
		if err := checkStepExpression(b); err != nil {
			return err
		}
	}
	return nil
}

// walkStrings calls f for every string in a decoded JSON value, with its path.
func walkStrings(path string, v any, f func(path, s string)) {
	switch t := v.(type) {
	case string:
		f(path, t)
	case map[string]any:
		for k, x := range t {
			walkStrings(path+"."+k, x, f)
		}
	case []any:
		for i, x := range t {
			walkStrings(fmt.Sprintf("%s[%d]", path, i), x, f)
		}
	}
}

// Shorten cuts s to n runes for messages.
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

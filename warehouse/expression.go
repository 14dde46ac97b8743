package warehouse

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// maxExpressionNodes bounds the size of user expressions, so a hostile one cannot
// exhaust memory while compiling.
const maxExpressionNodes = 2000

// commitEnv and tagEnv are the variables an expressionFilter may use.
func commitEnv(id, author, committer, subject string, date time.Time) map[string]any {
	return map[string]any{"id": id, "commitDate": date, "author": author, "committer": committer, "subject": subject}
}

func tagEnv(tag, id, tagger, annotation string, date time.Time) map[string]any {
	return map[string]any{"tag": tag, "id": id, "creatorDate": date, "tagger": tagger, "annotation": annotation}
}

// compileFilter compiles a boolean expression against env's variables.
func compileFilter(src, field string, env map[string]any) (*vm.Program, error) {
	if src == "" {
		return nil, nil
	}
	p, err := expr.Compile(src, expr.Env(env), expr.AsBool(), expr.MaxNodes(maxExpressionNodes))
	if err != nil {
		return nil, &InvalidConstraintError{Field: field, Value: src, Err: err}
	}
	return p, nil
}

func runFilter(p *vm.Program, env map[string]any) (bool, error) {
	if p == nil {
		return true, nil
	}
	out, err := expr.Run(p, env)
	if err != nil {
		return false, fmt.Errorf("evaluating expressionFilter: %w", err)
	}
	b, _ := out.(bool)
	return b, nil
}

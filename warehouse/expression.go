package warehouse

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
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

// filterEnv is what an expressionFilter sees under a commit selection strategy: the
// commit (NewestFromBranch, the default) or the tag (every tag strategy).
func filterEnv(strategy haulv1.CommitSelectionStrategy) map[string]any {
	if strategy == "" || strategy == haulv1.CommitSelectionNewestFromBranch {
		return commitEnv("", "", "", "", time.Time{})
	}
	return tagEnv("", "", "", "", time.Time{})
}

// CheckExpressionFilter compiles a Git subscription's expressionFilter as discovery
// will (over commits or over tags, by its commitSelectionStrategy), so `haul apply`
// refuses a variable that does not exist there or an expression that is not a bool;
// field is the filter's path, e.g. spec.subscriptions[1].git.expressionFilter.
func CheckExpressionFilter(spec haulv1.GitSubscription, field string) error {
	_, err := compileFilter(spec.ExpressionFilter, field, filterEnv(spec.CommitSelectionStrategy))
	return err
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

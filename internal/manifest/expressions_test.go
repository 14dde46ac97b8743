package manifest

import (
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

// An expression haul apply accepts must also be one the controller will evaluate:
// the two size bounds are the same constant, so this checks both sides of the edge.
func TestApplyAndControllerAgreeOnExpressionSize(t *testing.T) {
	// "1+1+...": a valid expression of exactly n bytes (n odd).
	sized := func(n int) string { return strings.Repeat("1+", n/2) + "1" }
	atLimit := sized(promotion.MaxExpressionSize - 1)
	over := sized(promotion.MaxExpressionSize + 1)

	if err := compileExpression(over); err == nil || !strings.Contains(err.Error(), "longer than the limit") {
		t.Fatalf("apply accepted a %d-byte expression (limit %d): %v", len(over), promotion.MaxExpressionSize, err)
	}
	if _, err := promotion.EvalTemplate("${{ "+over+" }}", promotion.Env{}); err == nil {
		t.Fatalf("controller accepted the expression apply refused")
	}

	// Under the byte limit the AST bound decides; both sides must decide alike.
	applyErr := compileExpression(atLimit)
	_, ctrlErr := promotion.EvalTemplate("${{ "+atLimit+" }}", promotion.Env{})
	if (applyErr == nil) != (ctrlErr == nil) {
		t.Fatalf("apply and controller disagree on a %d-byte expression: apply %v, controller %v", len(atLimit), applyErr, ctrlErr)
	}
	small := sized(101)
	if err := compileExpression(small); err != nil {
		t.Fatalf("small expression refused: %v", err)
	}
}

package promotion

import (
	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// expandMechanisms turns legacy promotionMechanisms into steps (a variable so tests
// can replace it).
var expandMechanisms = func(stage *haulv1.Stage) ([]haulv1.PromotionStep, error) {
	return promotion.ExpandMechanisms(stage)
}

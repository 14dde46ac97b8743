package promotion

import (
	"errors"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// expandMechanisms turns legacy promotionMechanisms into steps. It is replaced by
// promotion.ExpandMechanisms once the stage engineer's promotion/mechanisms.go lands.
var expandMechanisms = func(stage *haulv1.Stage) ([]haulv1.PromotionStep, error) {
	return nil, errors.New("promotionMechanisms are not supported yet; use promotionTemplate")
}

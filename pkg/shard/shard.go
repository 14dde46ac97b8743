package shard

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Label is the label naming an object's shard.
const Label = haulv1.LabelShard

// leaseBase is the default controller's leader-election Lease; shard NAME's Lease is
// haul-controller-NAME.haul.dev.
const leaseBase = "haul-controller"

// InvalidNameError is a shard name that cannot be a label value (or a Lease name).
type InvalidNameError struct {
	Flag, Value string
	Problems    []string
}

func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("%s %q is not a valid shard name: %s", e.Flag, e.Value, strings.Join(e.Problems, "; "))
}

// Validate checks that name can be the value of the shard label and part of a Lease
// name: a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters).
// flag names where the value came from in the error.
func Validate(flag, name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return &InvalidNameError{Flag: flag, Value: name, Problems: errs}
	}
	return nil
}

// Of returns the shard an object with these labels belongs to; "" is the default shard.
func Of(objLabels map[string]string) string {
	return objLabels[Label]
}

// Selector selects the objects shard name owns: those labelled with it, or, for the
// default shard (""), those without the label.
func Selector(name string) labels.Selector {
	op, vals := selection.Equals, []string{name}
	if name == "" {
		op, vals = selection.DoesNotExist, nil
	}
	req, err := labels.NewRequirement(Label, op, vals)
	if err != nil {
		// Only an invalid name gets here, and Validate refuses those at start.
		return labels.Nothing()
	}
	return labels.NewSelector().Add(*req)
}

// LeaseName is the leader-election Lease of a shard's replicas, so every shard elects
// its own leader: haul-controller.haul.dev for the default shard,
// haul-controller-NAME.haul.dev for shard NAME.
func LeaseName(name string) string {
	if name == "" {
		return leaseBase + ".haul.dev"
	}
	return leaseBase + "-" + name + ".haul.dev"
}

// Inherit sets the shard label of an object Haul creates on behalf of another (a
// Promotion of a Stage, Freight of a Warehouse) to that parent's shard, so it is
// reconciled by the same controller.
func Inherit(objLabels map[string]string, parent map[string]string) map[string]string {
	s := Of(parent)
	if s == "" {
		delete(objLabels, Label)
		return objLabels
	}
	if objLabels == nil {
		objLabels = map[string]string{}
	}
	objLabels[Label] = s
	return objLabels
}

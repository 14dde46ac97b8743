package stage

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// A Freight status write by one Stage wakes that Stage (and, through the caller, its
// downstream Stages) only; a change every Stage reads wakes every Stage of the origin.
func TestChangedStagesWakesOnlyTheStagesAStatusWriteConcerns(t *testing.T) {
	since := metav1.Now()
	base := func() *haulv1.Freight {
		return &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Name: "f", Labels: map[string]string{"a": "b"}},
			Alias:      "brave-otter",
			Status: haulv1.FreightStatus{
				CurrentlyIn: map[string]haulv1.CurrentStage{"test": {Since: &since}},
				VerifiedIn:  map[string]haulv1.VerifiedStage{"test": {}},
			},
		}
	}
	cases := []struct {
		name     string
		change   func(f *haulv1.Freight)
		stages   []string
		everyone bool
	}{
		{"nothing", func(*haulv1.Freight) {}, nil, false},
		{"resource version only", func(f *haulv1.Freight) { f.ResourceVersion = "9" }, nil, false},
		{"now in uat", func(f *haulv1.Freight) { f.Status.CurrentlyIn["uat"] = haulv1.CurrentStage{Since: &since} }, []string{"uat"}, false},
		{"left test", func(f *haulv1.Freight) { delete(f.Status.CurrentlyIn, "test") }, []string{"test"}, false},
		{"verified in uat", func(f *haulv1.Freight) { f.Status.VerifiedIn["uat"] = haulv1.VerifiedStage{} }, []string{"uat"}, false},
		{"approved for prod", func(f *haulv1.Freight) {
			f.Status.ApprovedFor = map[string]haulv1.ApprovedStage{"prod": {}}
		}, []string{"prod"}, false},
		{"an approval recorded", func(f *haulv1.Freight) {
			f.Status.Approvals = []haulv1.FreightApproval{{Stage: "prod", Identity: "alice"}}
		}, []string{"prod"}, false},
		{"two at once", func(f *haulv1.Freight) {
			delete(f.Status.CurrentlyIn, "test")
			f.Status.VerifiedIn["uat"] = haulv1.VerifiedStage{}
		}, []string{"test", "uat"}, false},
		{"alias", func(f *haulv1.Freight) { f.Alias = "calm-heron" }, nil, true},
		{"label", func(f *haulv1.Freight) { f.Labels["a"] = "c" }, nil, true},
		{"annotation", func(f *haulv1.Freight) { f.Annotations = map[string]string{"x": "y"} }, nil, true},
		{"being deleted", func(f *haulv1.Freight) { f.DeletionTimestamp = &since }, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := base()
			c.change(n)
			stages, everyone := changedStages(base(), n)
			if everyone != c.everyone || !slices.Equal(stages, c.stages) {
				t.Errorf("changedStages = %v, everyone %v; want %v, everyone %v", stages, everyone, c.stages, c.everyone)
			}
		})
	}
}

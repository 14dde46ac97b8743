package pipeline

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

var (
	now    = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	wh     = haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "wh"}
	otherW = haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "other"}
)

func stage(name string, reqs ...haulv1.FreightRequest) *haulv1.Stage {
	s := &haulv1.Stage{}
	s.Name = name
	s.Spec.RequestedFreight = reqs
	return s
}

func direct(o haulv1.FreightOrigin) haulv1.FreightRequest {
	return haulv1.FreightRequest{Origin: o, Sources: haulv1.FreightSources{Direct: true}}
}

func from(o haulv1.FreightOrigin, strategy haulv1.AvailabilityStrategy, soak time.Duration, ups ...string) haulv1.FreightRequest {
	r := haulv1.FreightRequest{Origin: o, Sources: haulv1.FreightSources{Stages: ups, AvailabilityStrategy: strategy}}
	if soak > 0 {
		r.Sources.RequiredSoakTime = &metav1.Duration{Duration: soak}
	}
	return r
}

type freightOpt func(*haulv1.Freight)

func verifiedIn(stage string) freightOpt {
	return func(f *haulv1.Freight) {
		if f.Status.VerifiedIn == nil {
			f.Status.VerifiedIn = map[string]haulv1.VerifiedStage{}
		}
		f.Status.VerifiedIn[stage] = haulv1.VerifiedStage{VerifiedAt: &metav1.Time{Time: now}}
	}
}

func longestSoak(stage string, d time.Duration) freightOpt {
	return func(f *haulv1.Freight) {
		v := f.Status.VerifiedIn[stage]
		v.LongestSoak = &metav1.Duration{Duration: d}
		f.Status.VerifiedIn[stage] = v
	}
}

func currentlyIn(stage string, since time.Duration) freightOpt {
	return func(f *haulv1.Freight) {
		if f.Status.CurrentlyIn == nil {
			f.Status.CurrentlyIn = map[string]haulv1.CurrentStage{}
		}
		f.Status.CurrentlyIn[stage] = haulv1.CurrentStage{Since: &metav1.Time{Time: now.Add(-since)}}
	}
}

func approvedFor(stage string) freightOpt {
	return func(f *haulv1.Freight) {
		f.Status.ApprovedFor = map[string]haulv1.ApprovedStage{stage: {ApprovedBy: "alice"}}
	}
}

func freight(name string, o haulv1.FreightOrigin, age time.Duration, opts ...freightOpt) *haulv1.Freight {
	f := &haulv1.Freight{Origin: o}
	f.Name = name
	f.CreationTimestamp = metav1.Time{Time: now.Add(-age)}
	for _, opt := range opts {
		opt(f)
	}
	return f
}

func TestIsAvailable(t *testing.T) {
	tests := []struct {
		name    string
		stage   *haulv1.Stage
		freight *haulv1.Freight
		want    bool
		reason  string
	}{
		{"direct source makes any Freight of the origin available",
			stage("test", direct(wh)), freight("f", wh, 0), true, "directly"},
		{"a Stage that does not request the origin never gets it",
			stage("test", direct(wh)), freight("f", otherW, 0), false, "does not request"},
		{"OneOf: unverified upstream is not enough",
			stage("uat", from(wh, "", 0, "test")), freight("f", wh, 0), false, "verified in test"},
		{"OneOf: verified in the upstream",
			stage("uat", from(wh, haulv1.AvailabilityOneOf, 0, "test")), freight("f", wh, 0, verifiedIn("test")), true, "verified in test"},
		{"OneOf: verified in one of two upstreams",
			stage("prod", from(wh, haulv1.AvailabilityOneOf, 0, "eu", "us")), freight("f", wh, 0, verifiedIn("us")), true, "verified in us"},
		{"All: verified in only one of two upstreams",
			stage("prod", from(wh, haulv1.AvailabilityAll, 0, "eu", "us")), freight("f", wh, 0, verifiedIn("us")), false, "verified in eu"},
		{"All: verified in both upstreams",
			stage("prod", from(wh, haulv1.AvailabilityAll, 0, "eu", "us")), freight("f", wh, 0, verifiedIn("us"), verifiedIn("eu")), true, "all of eu, us"},
		{"soak: verified but still in the upstream for less than the soak time",
			stage("prod", from(wh, "", time.Hour, "uat")), freight("f", wh, 0, verifiedIn("uat"), currentlyIn("uat", 10*time.Minute)), false, "soaked in uat for 1h0m0s (has 10m0s)"},
		{"soak: still in the upstream for longer than the soak time",
			stage("prod", from(wh, "", time.Hour, "uat")), freight("f", wh, 0, verifiedIn("uat"), currentlyIn("uat", 2*time.Hour)), true, "verified in uat"},
		{"soak: left the upstream after a long enough stay",
			stage("prod", from(wh, "", time.Hour, "uat")), freight("f", wh, 0, verifiedIn("uat"), longestSoak("uat", 90*time.Minute)), true, "verified in uat"},
		{"soak: left the upstream after a short stay",
			stage("prod", from(wh, "", time.Hour, "uat")), freight("f", wh, 0, verifiedIn("uat"), longestSoak("uat", 5*time.Minute)), false, "soaked in uat"},
		{"soak: All needs the soak in every upstream",
			stage("prod", from(wh, haulv1.AvailabilityAll, time.Hour, "eu", "us")), freight("f", wh, 0, verifiedIn("eu"), verifiedIn("us"), longestSoak("eu", 2*time.Hour), currentlyIn("us", time.Minute)), false, "soaked in us"},
		{"approval makes unverified Freight available",
			stage("prod", from(wh, haulv1.AvailabilityAll, time.Hour, "uat")), freight("f", wh, 0, approvedFor("prod")), true, "approved for prod by alice"},
		{"approval for another Stage does not count",
			stage("prod", from(wh, "", 0, "uat")), freight("f", wh, 0, approvedFor("uat")), false, "verified in uat"},
		{"approval does not cross origins",
			stage("prod", from(wh, "", 0, "uat")), freight("f", otherW, 0, approvedFor("prod")), false, "does not request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := IsAvailable(tt.freight, tt.stage, now)
			if got != tt.want {
				t.Fatalf("IsAvailable = %v (%s), want %v", got, why, tt.want)
			}
			if !strings.Contains(why, tt.reason) {
				t.Errorf("reason %q does not mention %q", why, tt.reason)
			}
		})
	}
}

func TestSoakRemaining(t *testing.T) {
	s := stage("prod", from(wh, "", time.Hour, "uat"))
	f := freight("f", wh, 0, verifiedIn("uat"), currentlyIn("uat", 40*time.Minute))
	if got := SoakRemaining(f, s, now); got != 20*time.Minute {
		t.Errorf("SoakRemaining = %s, want 20m", got)
	}
	f = freight("f", wh, 0, verifiedIn("uat"), currentlyIn("uat", 2*time.Hour))
	if got := SoakRemaining(f, s, now); got != 0 {
		t.Errorf("SoakRemaining after the soak = %s, want 0", got)
	}
}

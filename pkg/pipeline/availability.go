package pipeline

import (
	"fmt"
	"strings"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// RequestFor returns the Stage's request for Freight of the given origin, or nil when the
// Stage does not request that origin.
func RequestFor(s *haulv1.Stage, origin haulv1.FreightOrigin) *haulv1.FreightRequest {
	for i := range s.Spec.RequestedFreight {
		if s.Spec.RequestedFreight[i].Origin == origin {
			return &s.Spec.RequestedFreight[i]
		}
	}
	return nil
}

// IsAvailable says whether Freight f may be promoted to Stage s at time now, and why
// (or why not). Freight is available when s requests f's origin and any of: f is
// approved for s; s takes the origin directly; f is verified in one of (OneOf) or all of
// (All) the upstream Stages, soaked there for at least requiredSoakTime when it is set.
func IsAvailable(f *haulv1.Freight, s *haulv1.Stage, now time.Time) (bool, string) {
	req := RequestFor(s, f.Origin)
	if req == nil {
		return false, fmt.Sprintf("stage %s does not request Freight from %s", s.Name, f.Origin)
	}
	if a, ok := f.Status.ApprovedFor[s.Name]; ok {
		by := a.ApprovedBy
		if by == "" {
			by = "unknown"
		}
		return true, fmt.Sprintf("approved for %s by %s", s.Name, by)
	}
	if req.Sources.Direct {
		return true, fmt.Sprintf("stage %s takes Freight from %s directly", s.Name, f.Origin)
	}
	if len(req.Sources.Stages) == 0 {
		return false, fmt.Sprintf("stage %s has no source for %s", s.Name, f.Origin)
	}
	var soak time.Duration
	if req.Sources.RequiredSoakTime != nil {
		soak = req.Sources.RequiredSoakTime.Duration
	}
	var passed, missing []string
	for _, up := range req.Sources.Stages {
		if ok, why := verifiedAndSoaked(f, up, soak, now); ok {
			passed = append(passed, up)
		} else {
			missing = append(missing, why)
		}
	}
	if req.Sources.AvailabilityStrategy == haulv1.AvailabilityAll {
		if len(missing) == 0 {
			return true, fmt.Sprintf("verified in all of %s", strings.Join(passed, ", "))
		}
		return false, "not yet " + strings.Join(missing, "; ")
	}
	if len(passed) > 0 {
		return true, fmt.Sprintf("verified in %s", passed[0])
	}
	return false, "not yet " + strings.Join(missing, "; ")
}

// verifiedAndSoaked says whether f is verified in stage and has been there at least soak.
func verifiedAndSoaked(f *haulv1.Freight, stage string, soak time.Duration, now time.Time) (bool, string) {
	if _, ok := f.Status.VerifiedIn[stage]; !ok {
		return false, "verified in " + stage
	}
	if soak <= 0 {
		return true, ""
	}
	if got := Soaked(f, stage, now); got < soak {
		return false, fmt.Sprintf("soaked in %s for %s (has %s)", stage, soak, got.Truncate(time.Second))
	}
	return true, ""
}

// Soaked is how long f has soaked in stage: the longest recorded stay, or the current
// stay when f is still there and that is longer.
func Soaked(f *haulv1.Freight, stage string, now time.Time) time.Duration {
	var d time.Duration
	if v, ok := f.Status.VerifiedIn[stage]; ok && v.LongestSoak != nil {
		d = v.LongestSoak.Duration
	}
	if c, ok := f.Status.CurrentlyIn[stage]; ok && c.Since != nil {
		if cur := now.Sub(c.Since.Time); cur > d {
			d = cur
		}
	}
	return d
}

// SoakRemaining is how long until f, verified but not yet soaked long enough in one of
// s's upstream stages, could become available; zero when there is nothing to wait for.
// Controllers requeue after it so a soak ending is noticed without polling.
func SoakRemaining(f *haulv1.Freight, s *haulv1.Stage, now time.Time) time.Duration {
	req := RequestFor(s, f.Origin)
	if req == nil || req.Sources.RequiredSoakTime == nil {
		return 0
	}
	soak := req.Sources.RequiredSoakTime.Duration
	var best time.Duration
	for _, up := range req.Sources.Stages {
		if _, ok := f.Status.VerifiedIn[up]; !ok {
			continue
		}
		if _, still := f.Status.CurrentlyIn[up]; !still {
			continue
		}
		if left := soak - Soaked(f, up, now); left > 0 && (best == 0 || left < best) {
			best = left
		}
	}
	return best
}

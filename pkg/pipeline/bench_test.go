package pipeline

import (
	"fmt"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// BenchmarkCandidateSelection picks the auto-promotion candidate for each of 1,000
// Stages (100 three-or-more-stage pipelines) from 10,000 Freight, as a full resync of a
// large installation would.
func BenchmarkCandidateSelection(b *testing.B) {
	const pipelines, perPipeline, freightPerOrigin = 100, 10, 100
	var stages []*haulv1.Stage
	byOrigin := map[haulv1.FreightOrigin][]*haulv1.Freight{}
	for p := range pipelines {
		o := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: fmt.Sprintf("wh-%d", p)}
		for i := range perPipeline {
			name := fmt.Sprintf("p%d-s%d", p, i)
			if i == 0 {
				stages = append(stages, stage(name, direct(o)))
			} else {
				stages = append(stages, stage(name, from(o, "", time.Minute, fmt.Sprintf("p%d-s%d", p, i-1))))
			}
		}
		for k := range freightPerOrigin {
			var opts []freightOpt
			for i := range perPipeline {
				if k < i*10 {
					opts = append(opts, verifiedIn(fmt.Sprintf("p%d-s%d", p, i)), longestSoak(fmt.Sprintf("p%d-s%d", p, i), time.Hour))
				}
			}
			byOrigin[o] = append(byOrigin[o], freight(fmt.Sprintf("f-%d-%d", p, k), o, time.Duration(k)*time.Minute, opts...))
		}
	}
	var picked int
	for b.Loop() {
		picked = 0
		for _, s := range stages {
			req := &s.Spec.RequestedFreight[0]
			if Candidate(s, req, byOrigin[req.Origin], nil, now) != nil {
				picked++
			}
		}
	}
	b.ReportMetric(float64(len(stages)), "stages")
	b.ReportMetric(float64(picked), "candidates")
}

// BenchmarkFindCycle checks 1,000 Stages in 100 pipelines for cycles.
func BenchmarkFindCycle(b *testing.B) {
	var stages []haulv1.Stage
	for p := range 100 {
		o := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: fmt.Sprintf("wh-%d", p)}
		for i := range 10 {
			name := fmt.Sprintf("p%d-s%d", p, i)
			if i == 0 {
				stages = append(stages, *stage(name, direct(o)))
			} else {
				stages = append(stages, *stage(name, from(o, "", 0, fmt.Sprintf("p%d-s%d", p, i-1))))
			}
		}
	}
	for b.Loop() {
		if len(FindCycle(stages)) != 0 {
			b.Fatal("unexpected cycle")
		}
	}
}

// BenchmarkEvaluateWindows evaluates, as every Stage reconcile does, an hourly Allow
// window running since 2024 under a week-long Deny window: the schedule's next change
// is a week of hourly edges away.
func BenchmarkEvaluateWindows(b *testing.B) {
	ws := []haulv1.PromotionWindow{
		{Name: "hourly", Kind: haulv1.PromotionWindowAllow, RRule: "FREQ=HOURLY", DTStart: "20240101T000000Z", DTEnd: "20240101T003000Z"},
		{Name: "week", Kind: haulv1.PromotionWindowDeny, DTStart: "20261201T000000Z", DTEnd: "20261208T000000Z"},
	}
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	for b.Loop() {
		if st := EvaluateWindows(ws, now); st.Open || !st.NextOpen.Equal(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)) {
			b.Fatalf("state = %+v", st)
		}
	}
}

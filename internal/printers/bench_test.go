package printers

import (
	"fmt"
	"io"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// BenchmarkStageTable renders a 1,000-stage table, as `haul get stages` does.
func BenchmarkStageTable(b *testing.B) {
	base := stages()
	items := make([]haulv1.Stage, 0, 1000)
	for i := range 1000 {
		s := base[i%len(base)]
		s.Name = fmt.Sprintf("stage-%04d", i)
		items = append(items, s)
	}
	for b.Loop() {
		if err := StageTable(items, clock, true).Write(io.Discard, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/row")
	_ = time.Second
}

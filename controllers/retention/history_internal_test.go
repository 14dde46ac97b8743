package retention

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// The history of a Stage whose Promotions fail with long messages stays writable as a
// ConfigMap (under 1 MiB): the oldest records go first, the newest are all kept.
func TestHistoryStaysUnderTheConfigMapLimitWithLongMessages(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []haulv1.PromotionRecord
	for i := range haulv1.PromotionHistoryMax {
		created := metav1.NewTime(at.Add(-time.Duration(i) * time.Minute))
		recs = append(recs, haulv1.PromotionRecord{
			Name: fmt.Sprintf("prod.%040x.%d", i, i), Stage: "prod", Freight: fmt.Sprintf("%040x", i),
			Phase: haulv1.PromotionFailed, Message: strings.Repeat("x", maxRecordMessage),
			CreatedAt: created, StartedAt: &created, FinishedAt: &created, Sequence: int64(haulv1.PromotionHistoryMax - i),
		})
	}
	b, err := encodeHistory(recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > haulv1.PromotionHistoryMaxBytes || len(b) >= 1<<20 {
		t.Fatalf("history is %d bytes; want at most %d", len(b), haulv1.PromotionHistoryMaxBytes)
	}
	var kept []haulv1.PromotionRecord
	if err := json.Unmarshal(b, &kept); err != nil {
		t.Fatal(err)
	}
	if len(kept) == 0 || len(kept) == len(recs) {
		t.Fatalf("kept %d of %d records; want the newest that fit", len(kept), len(recs))
	}
	for i := range kept {
		if kept[i].Name != recs[i].Name {
			t.Fatalf("record %d is %s; want the newest first, %s", i, kept[i].Name, recs[i].Name)
		}
	}
	t.Logf("kept the newest %d of %d records in %d bytes", len(kept), len(recs), len(b))

	// Short records are all kept, up to the count limit.
	short := recs[:10]
	for i := range short {
		short[i].Message = "ok"
	}
	if b, _ := encodeHistory(short); strings.Count(string(b), `"name"`) != 10 {
		t.Fatalf("short history lost records: %s", b)
	}
}

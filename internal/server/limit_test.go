package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestListLimitKeepsTheNewestAndWhatStagesHold: ?limit=N answers the newest N Freight,
// plus every older Freight a Stage holds (the pipeline view draws it), with the
// project's total; a bad limit is refused naming the parameter and the value.
func TestListLimitKeepsTheNewestAndWhatStagesHold(t *testing.T) {
	p := "list-limit"
	newProject(t, p)
	const n = 6
	var held *haulv1.Freight
	for i := range n {
		f := newFreight(t, p, fmt.Sprintf("%040x", i+1), fmt.Sprintf("alias-%d", i), fmt.Sprintf("1.0.%d", i))
		if i == 0 {
			held = f
		}
	}
	since := metav1.Now()
	held.Status.CurrentlyIn = map[string]haulv1.CurrentStage{"prod": {Since: &since}}
	must(t, env.Client.Status().Update(context.Background(), held))

	type list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
		Total *int `json:"total"`
	}
	get := func(query string) (int, list, string) {
		t.Helper()
		code, body := call(t, "GET", "/api/v1/projects/"+p+"/freight"+query, testAdminToken, "", "")
		var l list
		if code == http.StatusOK {
			if err := json.Unmarshal(body, &l); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		return code, l, string(body)
	}
	names := func(l list) []string {
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Metadata.Name)
		}
		return out
	}
	// The server lists from its cache: wait until it has all of them, held included.
	var all list
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, all, _ = get("")
		if len(all.Items) == n && func() bool {
			_, l, _ := get("?limit=1")
			return len(l.Items) == 2 || names(l)[0] == held.Name
		}() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never listed the %d Freight with the held one", n)
		}
	}
	if all.Total != nil {
		t.Errorf("an unlimited list has total %d; want none", *all.Total)
	}
	order := names(all)
	_, l, body := get("?limit=2")
	want := order[:2]
	if !slices.Contains(want, held.Name) {
		want = append(slices.Clone(want), held.Name)
	}
	if got := names(l); !slices.Equal(got, want) {
		t.Errorf("limit=2 answered %v; want the newest two then the held one: %v (all: %v)", got, want, order)
	}
	if l.Total == nil || *l.Total != n {
		t.Errorf("limit=2: total %v in %s; want %d", l.Total, body, n)
	}
	if _, l, _ := get(fmt.Sprintf("?limit=%d", n)); l.Total != nil || len(l.Items) != n {
		t.Errorf("limit=%d: %d items, total %v; want all, no total", n, len(l.Items), l.Total)
	}
	for _, bad := range []string{"0", "-1", "x", "100001"} {
		code, _, body := get("?limit=" + bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `limit=\"`+bad+`\"`) {
			t.Errorf("limit=%s: %d %s; want 400 naming limit and the value", bad, code, body)
		}
	}
	if code, _, body := call2(t, "/api/v1/projects/"+p+"/promotions?limit=nope"); code != http.StatusBadRequest || !strings.Contains(body, "limit") {
		t.Errorf("promotions limit=nope: %d %s; want 400", code, body)
	}
}

func call2(t *testing.T, path string) (int, []byte, string) {
	t.Helper()
	code, body := call(t, "GET", path, testAdminToken, "", "")
	return code, body, string(body)
}

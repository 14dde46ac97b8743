package steps

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

func TestHTTPKargoKeys(t *testing.T) {
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch r.URL.Path {
		case "/yaml":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("state: done\ncount: 3\n"))
		case "/fail":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error": {"detail": "stage is locked"}}`))
		default:
			_, _ = w.Write([]byte(`{"ok": true}`))
		}
	}))
	t.Cleanup(srv.Close)

	t.Run("bodyFromFile sends the file", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"payload.json": `{"tag": "1.2.3"}`})
		r.mustRun(t, httpStep, map[string]any{"url": srv.URL, "method": "POST", "bodyFromFile": "payload.json"})
		if gotBody != `{"tag": "1.2.3"}` {
			t.Errorf("server got body %q", gotBody)
		}
	})
	t.Run("responseContentType parses a body the server mislabels", func(t *testing.T) {
		r := newStepRun(t, nil)
		res := r.mustRun(t, httpStep, map[string]any{
			"url": srv.URL + "/yaml", "responseContentType": "application/yaml",
			"successExpression": `response.body.state == "done"`,
			"outputs":           []any{map[string]any{"name": "count", "fromExpression": "response.body.count"}},
		})
		if res.Status == promotion.StatusRunning || res.Output["count"] == nil {
			t.Fatalf("result %+v, want success with count", res)
		}
	})
	t.Run("errorExpression enriches a failure", func(t *testing.T) {
		r := newStepRun(t, nil)
		res := r.mustRun(t, httpStep, map[string]any{
			"url": srv.URL + "/fail", "failureExpression": "response.status == 409",
			"errorExpression": "response.body.error.detail",
		})
		if res.Status != promotion.StatusFailed || res.Message != `failureExpression matched (HTTP 409): "stage is locked"` {
			t.Fatalf("result %q %q", res.Status, res.Message)
		}
		res = r.mustRun(t, httpStep, map[string]any{
			"url": srv.URL + "/fail", "failureExpression": "response.status == 409",
			"errorExpression": "response.body.nothing.here",
		})
		if res.Message != "failureExpression matched (HTTP 409)" {
			t.Errorf("an errorExpression that does not apply gave %q, want the plain message", res.Message)
		}
	})
	for name, tc := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"body and bodyFromFile":        {map[string]any{"url": srv.URL, "body": "a", "bodyFromFile": "b"}, "set only one of body and bodyFromFile"},
		"a bodyFromFile outside":       {map[string]any{"url": srv.URL, "bodyFromFile": "../b"}, `bodyFromFile "../b"`},
		"a missing bodyFromFile":       {map[string]any{"url": srv.URL, "bodyFromFile": "b.json"}, "b.json does not exist"},
		"a text body read as JSON":     {map[string]any{"url": srv.URL + "/yaml", "responseContentType": "application/json"}, "the body is not JSON"},
		"an unknown content type":      {map[string]any{"url": srv.URL, "responseContentType": "text/html"}, `responseContentType "text/html" must be one of`},
		"a proxy (refused on purpose)": {map[string]any{"url": srv.URL, "proxy": "http://proxy.example:3128"}, `proxy "http://proxy.example:3128": Haul's http step sends no request through a proxy`},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			_, err := newStepRun(t, nil).run(t, httpStep, tc.cfg)
			wantErr(t, err, tc.want)
		})
	}
}

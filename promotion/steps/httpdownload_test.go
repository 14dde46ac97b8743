package steps

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

func TestHTTPDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chart.tgz":
			if r.Header.Get("Authorization") != "Bearer t0ken" || r.URL.Query().Get("version") != "1.2.3" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte("chart-bytes"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	good := map[string]any{
		"url": srv.URL + "/chart.tgz", "outPath": "dl/chart.tgz",
		"headers":     []any{map[string]any{"name": "Authorization", "value": "Bearer t0ken"}},
		"queryParams": []any{map[string]any{"name": "version", "value": "1.2.3"}},
		"timeout":     "10s",
	}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}

	dir := t.TempDir()
	if _, err := runStepIn(t, dir, httpDownload, good); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "dl/chart.tgz"); got != "chart-bytes" {
		t.Errorf("downloaded %q", got)
	}
	_, err := runStepIn(t, dir, httpDownload, good)
	if err == nil || !strings.Contains(err.Error(), `outPath "dl/chart.tgz" already exists; set allowOverwrite`) {
		t.Fatalf("second download: err = %v, want the existing file named", err)
	}
	writeFiles(t, dir, map[string]string{"dl/chart.tgz": "stale"})
	if _, err := runStepIn(t, dir, httpDownload, with("allowOverwrite", true)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "dl/chart.tgz"); got != "chart-bytes" {
		t.Errorf("overwritten file holds %q", got)
	}

	old := httpDownloadMaxSize
	httpDownloadMaxSize = 1024
	t.Cleanup(func() { httpDownloadMaxSize = old })
	for name, tc := range map[string]struct {
		cfg     map[string]any
		wantErr string
	}{
		"a body over the cap":    {with("url", srv.URL+"/big"), "larger than the limit of 1024"},
		"a 404":                  {with("url", srv.URL+"/nope"), "server answered 404"},
		"a missing header":       {with("headers", []any{}), "server answered 401"},
		"a non-http URL":         {with("url", "file:///etc/passwd"), "url must be an absolute http or https URL"},
		"an outPath outside":     {with("outPath", "../x"), `outPath "../x"`},
		"an outPath in .git":     {with("outPath", "r/.git/config"), `outPath "r/.git/config"`},
		"a bad timeout":          {with("timeout", "soon"), `timeout "soon"`},
		"credentials in the URL": {with("url", "http://user:s3cret@127.0.0.1:1/x"), "downloading"},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			d := t.TempDir()
			cfg := tc.cfg
			_, err := runStepIn(t, d, httpDownload, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "t0ken") {
				t.Errorf("error %q shows a credential", err)
			}
		})
	}
	t.Run("the address policy applies", func(t *testing.T) {
		d := t.TempDir()
		sc := &promotion.StepContext{WorkDir: d, Config: with("outPath", "x"), Services: &promotion.Services{
			HTTPClient: promotion.AddressPolicy{DenyPrivate: true}.Client,
		}}
		_, err := httpDownload(t.Context(), sc)
		if err == nil || !promotion.IsTerminal(err) {
			t.Fatalf("err = %v, want a terminal refusal of 127.0.0.1", err)
		}
	})
}

package promotion_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// tarEntry is one entry of a test chart archive: a file of Body, or Zeros bytes of
// zeros, or (Link set) a symlink.
type tarEntry struct {
	Name, Body, Link string
	Zeros            int64
}

// chartArchive builds a .tgz of entries (writing to memory cannot fail).
func chartArchive(entries ...tarEntry) []byte {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	zeros := make([]byte, 1<<20)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Body))}
		switch {
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.Link, 0
		case e.Zeros > 0:
			h.Size = e.Zeros
		}
		must(tw.WriteHeader(h))
		if e.Zeros > 0 {
			for left := e.Zeros; left > 0; left -= int64(len(zeros)) {
				_, err := tw.Write(zeros[:min(left, int64(len(zeros)))])
				must(err)
			}
		} else {
			_, err := tw.Write([]byte(e.Body))
			must(err)
		}
	}
	must(tw.Close())
	must(gz.Close())
	return buf.Bytes()
}

var libChart = []tarEntry{
	{Name: "lib/Chart.yaml", Body: "apiVersion: v2\nname: lib\nversion: 0.1.0\n"},
	{Name: "lib/templates/cm.yaml", Body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib\n"},
}

// hostileChartArchives are scenario 9's archives with the refusal each must get.
// The bomb is twenty 4 MiB files (80 MiB, 80 KiB compressed): each file is under
// Helm's 5 MiB per-file limit and the whole under its 100 MiB in-memory limit, so
// Helm alone would load it; Haul's 64 MiB chart budget refuses it.
var hostileChartArchives = sync.OnceValue(func() map[string]struct {
	archive []byte
	want    string
} {
	bomb := append([]tarEntry{}, libChart...)
	for i := range 20 {
		bomb = append(bomb, tarEntry{Name: fmt.Sprintf("lib/files/zero-%02d", i), Zeros: 4 << 20})
	}
	with := func(extra tarEntry) []tarEntry { return append(append([]tarEntry{}, libChart...), extra) }
	return map[string]struct {
		archive []byte
		want    string
	}{
		"decompression bomb": {chartArchive(bomb...), "lib-0.1.0.tgz expands past the chart size limit of 67108864 bytes"},
		"dot-dot entry": {chartArchive(with(tarEntry{Name: "lib/../../escaped.yaml", Body: "x: 1\n"})...),
			`entry "lib/../../escaped.yaml" has '..' in its name`},
		"symlink entry": {chartArchive(with(tarEntry{Name: "lib/values.yaml", Link: "/etc/passwd"})...),
			`entry "lib/values.yaml" is a symlink (to "/etc/passwd")`},
	}
})

// TestHelmTemplateRefusesHostileSubchartArchives: a chart whose charts/ holds a
// hostile archive is refused before Helm expands it, naming the archive and entry.
func TestHelmTemplateRefusesHostileSubchartArchives(t *testing.T) {
	for name, c := range hostileChartArchives() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeChart(t, dir)
			_ = os.WriteFile(filepath.Join(dir, "chart/Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: 0.1.0\n"), 0o644)
			_ = os.MkdirAll(filepath.Join(dir, "chart/charts"), 0o755)
			if err := os.WriteFile(filepath.Join(dir, "chart/charts/lib-0.1.0.tgz"), c.archive, 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, _ := runIn(t, dir, freight("1"), nil, step("helm-template", "h", map[string]any{"path": "chart", "outPath": "out.yaml"}))
			mustFail(t, res, "chart archive chart/charts/lib-0.1.0.tgz", c.want)
			if res.Phase != haulv1.PromotionErrored {
				t.Errorf("phase %s, want Errored (terminal)", res.Phase)
			}
			if strings.Contains(res.Message, dir) {
				t.Errorf("message leaks the host path: %s", res.Message)
			}
			if el := time.Since(start); el > 30*time.Second {
				t.Errorf("refusing took %s", el)
			}
			if _, err := os.Stat(filepath.Join(dir, "out.yaml")); err == nil {
				t.Error("out.yaml was written")
			}
		})
	}
	t.Run("a well-formed archive renders", func(t *testing.T) {
		dir := t.TempDir()
		writeChart(t, dir)
		_ = os.WriteFile(filepath.Join(dir, "chart/Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: 0.1.0\n"), 0o644)
		_ = os.MkdirAll(filepath.Join(dir, "chart/charts"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "chart/charts/lib-0.1.0.tgz"), chartArchive(libChart...), 0o644)
		res, _ := runIn(t, dir, freight("1"), nil, step("helm-template", "h", map[string]any{"path": "chart", "outPath": "out.yaml"}))
		if res.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("%s: %s", res.Phase, res.Message)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "out.yaml")); !strings.Contains(string(b), "name: lib") {
			t.Fatalf("the subchart was not rendered:\n%s", b)
		}
	})
}

// chartRepo serves index.yaml listing lib 0.1.0 and archive as its package.
func chartRepo(t *testing.T, archive []byte) string {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, "apiVersion: v1\nentries:\n  lib:\n  - apiVersion: v2\n    name: lib\n    version: 0.1.0\n    urls:\n    - %s/lib-0.1.0.tgz\n", srv.URL)
		case "/lib-0.1.0.tgz":
			_, _ = w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeUmbrella(t *testing.T, dir, repo string) {
	t.Helper()
	files := map[string]string{
		"umbrella/Chart.yaml":      "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.0.1\n  repository: " + repo + "\n",
		"umbrella/values.yaml":     "{}\n",
		"umbrella/templates/.keep": "",
	}
	for p, c := range files {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHelmUpdateChartRefusesHostileDownloadedArchives: helm-update-chart downloads
// the dependency from a chart repository. Helm's manager skips an archive it cannot
// load (the `..` entry) with a printed line and reports success; it accepts symlink
// entries and the 80 MiB bomb. Each must fail the step with the reason.
func TestHelmUpdateChartRefusesHostileDownloadedArchives(t *testing.T) {
	upd := func(repo string) haulv1.PromotionStep {
		return step("helm-update-chart", "u", map[string]any{"path": "umbrella", "charts": []any{
			map[string]any{"repository": repo, "name": "lib", "version": "0.1.0"}}})
	}
	t.Run("a well-formed archive is vendored", func(t *testing.T) {
		dir := t.TempDir()
		repo := chartRepo(t, chartArchive(libChart...))
		writeUmbrella(t, dir, repo)
		res, _ := runIn(t, dir, freight("1"), nil, upd(repo))
		if res.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("%s: %s", res.Phase, res.Message)
		}
		if _, err := os.Stat(filepath.Join(dir, "umbrella/charts/lib-0.1.0.tgz")); err != nil {
			t.Fatalf("dependency not vendored: %v", err)
		}
	})
	for name, c := range hostileChartArchives() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			repo := chartRepo(t, c.archive)
			writeUmbrella(t, dir, repo)
			res, _ := runIn(t, dir, freight("1"), nil, upd(repo))
			want := c.want
			if name == "dot-dot entry" {
				// Helm refuses this one itself while moving it into charts/.
				want = "the downloaded dependency archive lib-0.1.0.tgz was refused: chart illegally references parent directory"
			}
			mustFail(t, res, "umbrella", want)
			if res.Phase != haulv1.PromotionErrored {
				t.Errorf("phase %s, want Errored (terminal)", res.Phase)
			}
			if strings.Contains(res.Message, dir) {
				t.Errorf("message leaks the host path: %s", res.Message)
			}
		})
	}
}

package steps

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haul-dev/haul/promotion"
)

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name, body, link string
	typ              byte
	size             int64 // when set, body is that many zero bytes
}

// makeTar writes entries as a (gzipped, when asked) archive at dir/rel.
func makeTar(t *testing.T, dir, rel string, gz bool, entries ...tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	var zw *gzip.Writer
	tw := tar.NewWriter(w)
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link}
		body := []byte(e.body)
		if e.size > 0 {
			body = make([]byte, e.size)
		}
		if typ == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dir, map[string]string{rel: buf.String()})
}

func TestTarThenUntarRoundTrips(t *testing.T) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"chart/Chart.yaml":            "name: app\n",
				"chart/templates/deploy.yaml": "kind: Deployment\n",
				"chart/templates/notes.tmp":   "scratch\n",
				"chart/.git/config":           "[core]\n",
				"chart/build/output.bin":      "junk\n",
				"out/old-file-to-be-replaced": "old\n",
			})
			if err := os.Symlink("templates/deploy.yaml", filepath.Join(dir, "chart/current.yaml")); err != nil {
				t.Fatal(err)
			}
			if _, err := runStepIn(t, dir, tarStep, map[string]any{
				"inPath": "chart", "outPath": "dist/chart.tar", "gzip": gz,
				"ignore": "# scratch files\n*.tmp\nbuild/\n",
			}); err != nil {
				t.Fatal(err)
			}
			raw := readFile(t, dir, "dist/chart.tar")
			if isGz := strings.HasPrefix(raw, "\x1f\x8b"); isGz != gz {
				t.Errorf("archive gzipped = %v, want %v", isGz, gz)
			}
			if _, err := runStepIn(t, dir, untar, map[string]any{"inPath": "dist/chart.tar", "outPath": "out"}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, dir, "out/templates/deploy.yaml"); got != "kind: Deployment\n" {
				t.Errorf("deploy.yaml = %q", got)
			}
			if l, err := os.Readlink(filepath.Join(dir, "out/current.yaml")); err != nil || l != "templates/deploy.yaml" {
				t.Errorf("current.yaml link = %q (%v), want it kept as a link", l, err)
			}
			for _, gone := range []string{"out/.git", "out/templates/notes.tmp", "out/build", "out/old-file-to-be-replaced"} {
				if _, err := os.Lstat(filepath.Join(dir, gone)); err == nil {
					t.Errorf("%s exists; it should have been left out or replaced", gone)
				}
			}
		})
	}
}

func TestUntarStripComponentsAndIgnore(t *testing.T) {
	dir := t.TempDir()
	makeTar(t, dir, "chart.tgz", true,
		tarEntry{name: "./", typ: tar.TypeDir},
		tarEntry{name: "./app/", typ: tar.TypeDir},
		tarEntry{name: "./app/Chart.yaml", body: "name: app\n"},
		tarEntry{name: "./app/values.yaml", body: "a: 1\n"},
		tarEntry{name: "./app/tests/test.yaml", body: "t\n"},
		tarEntry{name: "./app/same.yaml", typ: tar.TypeLink, link: "./app/values.yaml"},
		tarEntry{name: "./app/dev", typ: tar.TypeChar},
		tarEntry{name: "./app/fifo", typ: tar.TypeFifo},
	)
	if _, err := runStepIn(t, dir, untar, map[string]any{"inPath": "chart.tgz", "outPath": "out", "stripComponents": 2, "ignore": "tests/"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "out/Chart.yaml"); got != "name: app\n" {
		t.Errorf("Chart.yaml = %q", got)
	}
	if got := readFile(t, dir, "out/same.yaml"); got != "a: 1\n" {
		t.Errorf("hard link same.yaml = %q, want a copy of values.yaml", got)
	}
	for _, gone := range []string{"out/tests", "out/app", "out/dev", "out/fifo"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s exists", gone)
		}
	}
}

func TestUntarRefusesHostileArchives(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		wantErr string
	}{
		{"a name climbing out", []tarEntry{{name: "../evil", body: "x"}}, `entry "../evil": names with '..' are refused`},
		{"a name climbing out deeper", []tarEntry{{name: "a/../../evil", body: "x"}}, "names with '..'"},
		{"an absolute name", []tarEntry{{name: "/etc/evil", body: "x"}}, "absolute names are refused"},
		{"a symlink out of the archive", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "../../etc"}}, "leads outside the archive"},
		{"an absolute symlink", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "leads outside the archive"},
		{"links that escape only together", []tarEntry{
			{name: "x", typ: tar.TypeSymlink, link: "."},
			{name: "x/y/l", typ: tar.TypeSymlink, link: "../.."},
		}, "leads outside the archive"},
		{"a symlink into a .git directory", []tarEntry{
			{name: "r/", typ: tar.TypeDir},
			{name: "l", typ: tar.TypeSymlink, link: "r/.git/config"},
		}, "leads outside the archive or into a .git directory"},
		{"a hard link out of the archive", []tarEntry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, "hard link"},
		{"a hard link to a file not in the archive", []tarEntry{{name: "h", typ: tar.TypeLink, link: "nothing"}}, "not a file earlier in the archive"},
		{"a file over the per-file cap", []tarEntry{{name: "big", size: 2 << 20}}, `entry "big" is 2097152 bytes, larger than the limit`},
		{"files over the total cap", []tarEntry{
			{name: "a", size: 1 << 20}, {name: "b", size: 1 << 20}, {name: "c", size: 1 << 20}, {name: "d", size: 1 << 20}, {name: "e", size: 1 << 20},
		}, "expands to more than the limit"},
		{"too many entries", func() []tarEntry {
			var es []tarEntry
			for i := 0; i < 60; i++ {
				es = append(es, tarEntry{name: "d" + strings.Repeat("x", i) + "/", typ: tar.TypeDir})
			}
			return es
		}(), "more than 50 entries"},
	}
	oldFile, oldTotal, oldEntries := tarMaxFile, tarMaxTotal, tarMaxEntries
	tarMaxFile, tarMaxTotal, tarMaxEntries = 1<<20, 4<<20, 50
	t.Cleanup(func() { tarMaxFile, tarMaxTotal, tarMaxEntries = oldFile, oldTotal, oldEntries })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"out/keep.yaml": "kept\n"})
			makeTar(t, dir, "evil.tgz", true, tc.entries...)
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "evil.tgz", "outPath": "out"})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if !promotion.IsTerminal(err) {
				t.Errorf("error %q is not terminal", err)
			}
			if strings.Contains(err.Error(), dir) {
				t.Errorf("error %q shows the host path", err)
			}
			if got := readFile(t, dir, "out/keep.yaml"); got != "kept\n" {
				t.Errorf("a refused archive changed outPath: keep.yaml = %q", got)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
				t.Error("a file was written outside the work dir")
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".untar-*"))
			if len(leftovers) > 0 {
				t.Errorf("scratch directories left behind: %v", leftovers)
			}
		})
	}
}

func TestUntarRefusesATarBombQuickly(t *testing.T) {
	// 60 MiB of zeros compresses to about 60 KiB; the header alone must stop it.
	dir := t.TempDir()
	makeTar(t, dir, "bomb.tgz", true, tarEntry{name: "zeros", size: 60 << 20})
	if fi, err := os.Stat(filepath.Join(dir, "bomb.tgz")); err != nil || fi.Size() > 1<<20 {
		t.Fatalf("bomb is %v bytes (%v); the test wants a small archive", fi.Size(), err)
	}
	_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "bomb.tgz", "outPath": "out"})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 52428800") {
		t.Fatalf("err = %v, want the per-file limit named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("outPath was created for a refused archive")
	}
}

func TestTarAndUntarRefuseBadPaths(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(t *testing.T, dir string) error
		wantErr string
	}{
		{"tar inPath outside the work dir", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, tarStep, map[string]any{"inPath": "../", "outPath": "a.tar"})
			return err
		}, `inPath "../"`},
		{"tar outPath in .git", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, tarStep, map[string]any{"inPath": "src", "outPath": "src/.git/a.tar"})
			return err
		}, `outPath "src/.git/a.tar"`},
		{"tar a missing inPath", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, tarStep, map[string]any{"inPath": "nope", "outPath": "a.tar"})
			return err
		}, `inPath "nope" does not exist`},
		{"untar over the whole work dir", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "a.tar", "outPath": "./"})
			return err
		}, "would replace the whole work directory"},
		{"untar into .git", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "a.tar", "outPath": "src/.git"})
			return err
		}, `outPath "src/.git"`},
		{"untar a missing archive", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "none.tar", "outPath": "out"})
			return err
		}, "inPath does not exist"},
		{"untar something that is not an archive", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "src/a.yaml", "outPath": "out"})
			return err
		}, "reading the archive"},
		{"untar a negative stripComponents", func(t *testing.T, dir string) error {
			_, err := runStepIn(t, dir, untar, map[string]any{"inPath": "a.tar", "outPath": "out", "stripComponents": -1})
			return err
		}, "stripComponents -1 must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"src/a.yaml": strings.Repeat("not a tar archive\n", 100)})
			err := tc.fn(t, dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTarLeavesOutItsOwnArchiveAndCapsSizes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"src/a.yaml": "a\n", "src/b.yaml": "b\n"})
	if _, err := runStepIn(t, dir, tarStep, map[string]any{"inPath": "src", "outPath": "src/self.tar"}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(strings.NewReader(readFile(t, dir, "src/self.tar")))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "a.yaml,b.yaml" {
		t.Errorf("archive holds %v, want only a.yaml and b.yaml", names)
	}

	old := tarMaxFile
	tarMaxFile = 1
	t.Cleanup(func() { tarMaxFile = old })
	_, err := runStepIn(t, dir, tarStep, map[string]any{"inPath": "src/a.yaml", "outPath": "one.tar"})
	if err == nil || !strings.Contains(err.Error(), "a.yaml is 2 bytes, larger than the limit of 1") {
		t.Fatalf("err = %v, want the file size limit named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "one.tar")); err == nil {
		t.Error("a refused archive was left at outPath")
	}
}

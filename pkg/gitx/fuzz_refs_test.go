package gitx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPackedRef feeds arbitrary packed-refs lines, as a hostile remote or a corrupted
// cache may leave them: a line is a ref only when it is "<object id> <name>", header
// and peeled lines never are, and what readRef finds in a packed-refs file is a full
// object id.
func FuzzPackedRef(f *testing.F) {
	sha := strings.Repeat("a", 40)
	for _, s := range []string{"# pack-refs with: peeled fully-peeled sorted", sha + " refs/heads/main", "^" + sha,
		sha + " refs/tags/v1 extra", strings.Repeat("A", 40) + " refs/heads/x", sha, sha + " ", strings.Repeat("b", 64) + " refs/heads/s256", ""} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		name, id, ok := packedRef(line)
		if ok {
			if !IsObjectID(id) || line != id+" "+name {
				t.Fatalf("packedRef(%q) = %q, %q: not <id> <name>", line, name, id)
			}
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "^") {
				t.Fatalf("header or peeled line %q taken as a ref", line)
			}
		}
		if strings.ContainsAny(line, "\r\n") || strings.Contains(name, "\x00") {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "packed-refs"), []byte("# pack-refs with: peeled\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if ok && !strings.Contains(name, "..") && !filepath.IsAbs(name) && name != "" && name != "packed-refs" && !strings.HasPrefix(name, "packed-refs/") {
			if got := readRef(dir, name); got != id && !fileExists(filepath.Join(dir, filepath.FromSlash(name))) {
				t.Fatalf("readRef(%q) = %q, want %q from packed-refs", name, got, id)
			}
		}
		if got := readRef(dir, "refs/heads/main"); got != "" && !IsObjectID(got) {
			t.Fatalf("readRef returned %q, not an object id", got)
		}
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

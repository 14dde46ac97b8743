package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLogFileIsReadableOnlyByItsOwner: haul.log may hold upstream error text, so it
// is created 0600 in a 0700 directory, and a file or directory left world-readable by
// an older version is tightened when the log is opened again.
func TestLogFileIsReadableOnlyByItsOwner(t *testing.T) {
	for name, existing := range map[string]bool{"new file": false, "existing 0644 file": true} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs")
			path := filepath.Join(dir, "haul.log")
			if existing {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("old line\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			logger, closeLog, err := fileLogger(path, "info")
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("hello")
			closeLog()
			for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s has mode %o, want %o", p, got, want)
				}
			}
		})
	}
}

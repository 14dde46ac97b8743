package dirlock

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSecondProcessIsRefused: while one process holds a directory, another gets an
// InUseError naming the flag, the directory and the holder's pid; after unlock it
// may take it. flock is per open file, so the second holder is a child process.
func TestSecondProcessIsRefused(t *testing.T) {
	if os.Getenv("DIRLOCK_CHILD") != "" {
		_, err := Lock(os.Getenv("DIRLOCK_CHILD"), "--work-dir")
		if err != nil {
			os.Stdout.WriteString(err.Error())
			os.Exit(3)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	unlock, err := Lock(dir, "--work-dir")
	if err != nil {
		t.Fatal(err)
	}
	child := func() (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=TestSecondProcessIsRefused")
		cmd.Env = append(os.Environ(), "DIRLOCK_CHILD="+dir)
		out, err := cmd.Output()
		return string(out), err
	}
	out, err := child()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(out, "--work-dir "+dir+" is already in use by haul pid ") {
		t.Fatalf("second process: %v %q; want refused naming --work-dir, the dir and the pid", err, out)
	}
	unlock()
	if out, err := child(); err != nil {
		t.Fatalf("after unlock: %v %q", err, out)
	}
}

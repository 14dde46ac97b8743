package gitx

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// readRef resolves a ref (refs/heads/x) in a git dir without starting git: a loose ref
// file, else packed-refs. It returns "" when the ref does not exist or is symbolic.
func readRef(gitDir, ref string) string {
	if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		s := strings.TrimSpace(string(b))
		if IsObjectID(s) {
			return s
		}
		return ""
	}
	f, err := os.Open(filepath.Join(gitDir, "packed-refs"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, sha, ok := packedRef(sc.Text()); ok && name == ref {
			return sha
		}
	}
	return ""
}

// packedRef parses one line of packed-refs ("<sha> <name>"); header ("# ...") and
// peeled ("^<sha>") lines are not refs.
func packedRef(line string) (name, sha string, ok bool) {
	sha, name, ok = strings.Cut(line, " ")
	return name, sha, ok && IsObjectID(sha)
}

// hasPacks says whether a git dir holds pack files of its own (objects a fetch or
// rebase brought in), as opposed to only loose objects it wrote itself.
func hasPacks(gitDir string) bool {
	packs, _ := filepath.Glob(filepath.Join(gitDir, "objects/pack/*.pack"))
	return len(packs) > 0
}

// IsObjectID says whether s is a full Git object id in lowercase hex (SHA-1 or SHA-256).
func IsObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

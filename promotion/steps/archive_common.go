package steps

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/haul-dev/haul/promotion"
)

// Limits for the tar and untar steps, Kargo's: an archive expands to at most
// tarMaxTotal bytes, no file in it is larger than tarMaxFile, and (Haul's own) it holds
// at most tarMaxEntries entries, so a small archive cannot fill the disk or its inodes.
// Variables so that tests can lower them.
var (
	tarMaxTotal   int64 = 100 << 20
	tarMaxFile    int64 = 50 << 20
	tarMaxEntries       = 100000
)

// archiveIgnore builds a matcher from a multiline string of .gitignore patterns,
// relative to the archive's root. Blank lines and # comments are skipped.
func archiveIgnore(rules string) gitignore.Matcher {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(rules, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	return gitignore.NewMatcher(ps)
}

// ignored reports whether parts (a slash path split into elements) is ignored, either
// itself or through an ignored ancestor directory. A .git element (any case) is always
// ignored: no step reads or writes a repository's own files.
func ignored(m gitignore.Matcher, parts []string, isDir bool) bool {
	for i, p := range parts {
		if promotion.IsGitDirName(p) {
			return true
		}
		if m.Match(parts[:i+1], isDir || i < len(parts)-1) {
			return true
		}
	}
	return false
}

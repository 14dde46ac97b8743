package warehouse

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// pathMatcher matches a repository file path (slash-separated, relative to the
// repository root), as Kargo's includePaths/excludePaths do: `glob:PATTERN` (doublestar
// syntax, so `**` crosses directories), `regex:PATTERN` or `regexp:PATTERN` (matched
// anywhere in the path), or else a base directory that covers itself and every path
// beneath it (`src` covers `src/a.go`, not `src2/a.go`).
type pathMatcher func(string) bool

func compilePathMatchers(specs []string, field string) ([]pathMatcher, error) {
	out := make([]pathMatcher, 0, len(specs))
	for i, s := range specs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case strings.HasPrefix(s, "glob:"):
			pat := strings.TrimPrefix(s, "glob:")
			if !doublestar.ValidatePattern(pat) {
				return nil, &InvalidConstraintError{Field: f, Value: s, Err: doublestar.ErrBadPattern}
			}
			out = append(out, func(p string) bool { return doublestar.MatchUnvalidated(pat, p) })
		case strings.HasPrefix(s, "regex:"), strings.HasPrefix(s, "regexp:"):
			re, err := regexp.Compile(s[strings.Index(s, ":")+1:])
			if err != nil {
				return nil, &InvalidConstraintError{Field: f, Value: s, Err: err}
			}
			out = append(out, re.MatchString)
		default:
			base := path.Clean(strings.Trim(s, "/"))
			out = append(out, func(p string) bool { return underDir(base, p) })
		}
	}
	return out, nil
}

// underDir reports whether p is dir or lies beneath it; "." (an empty prefix) covers
// every path.
func underDir(dir, p string) bool {
	p = path.Clean(p)
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// touchesPaths reports whether any changed file is included (or there are no includes)
// and not excluded.
func touchesPaths(files []string, include, exclude []pathMatcher) bool {
	if len(include) == 0 && len(exclude) == 0 {
		return true
	}
	for _, f := range files {
		if len(include) > 0 && !anyMatch(include, f) {
			continue
		}
		if anyMatch(exclude, f) {
			continue
		}
		return true
	}
	return false
}

func anyMatch(ms []pathMatcher, p string) bool {
	for _, m := range ms {
		if m(p) {
			return true
		}
	}
	return false
}

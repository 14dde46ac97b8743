package warehouse

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// pathMatcher matches a repository file path by prefix, `glob:PATTERN` or `regex:PATTERN`.
type pathMatcher func(string) bool

func compilePathMatchers(specs []string, field string) ([]pathMatcher, error) {
	out := make([]pathMatcher, 0, len(specs))
	for i, s := range specs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case strings.HasPrefix(s, "glob:"):
			pat := strings.TrimPrefix(s, "glob:")
			if _, err := path.Match(pat, ""); err != nil {
				return nil, &InvalidConstraintError{Field: f, Value: s, Err: err}
			}
			out = append(out, func(p string) bool {
				if ok, _ := path.Match(pat, p); ok {
					return true
				}
				// A glob naming a directory also covers what is beneath it.
				for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
					if ok, _ := path.Match(pat, dir); ok {
						return true
					}
				}
				return false
			})
		case strings.HasPrefix(s, "regex:"):
			re, err := regexp.Compile(strings.TrimPrefix(s, "regex:"))
			if err != nil {
				return nil, &InvalidConstraintError{Field: f, Value: s, Err: err}
			}
			out = append(out, re.MatchString)
		default:
			prefix := strings.Trim(s, "/")
			out = append(out, func(p string) bool {
				return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/") || strings.HasPrefix(p, s)
			})
		}
	}
	return out, nil
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

package crds

import (
	"bytes"
	"regexp"
)

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func splitYAML(b []byte) [][]byte {
	var out [][]byte
	for _, d := range docSeparator.Split(string(b), -1) {
		if len(bytes.TrimSpace([]byte(d))) > 0 {
			out = append(out, []byte(d))
		}
	}
	return out
}

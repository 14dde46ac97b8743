package ui

import (
	"bytes"
	"io"
	"sync"
)

var outMu sync.Mutex

// syncWriter serialises writes from a child process's stdout and stderr.
type syncWriter struct{ w io.Writer }

func (s *syncWriter) Write(p []byte) (int, error) {
	outMu.Lock()
	defer outMu.Unlock()
	return s.w.Write(p)
}

func outString(b *bytes.Buffer) string {
	outMu.Lock()
	defer outMu.Unlock()
	return b.String()
}

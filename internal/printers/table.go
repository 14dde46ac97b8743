package printers

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table is a header and rows of cells, rendered with aligned columns.
type Table struct {
	Headers []string
	Rows    [][]string
}

// AddRow appends one row; empty cells are shown as "-" so columns never collapse.
func (t *Table) AddRow(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	t.Rows = append(t.Rows, cells)
}

// Write renders the table to w. Cells never contain tabs or newlines, so one bad value
// cannot break the alignment of the others.
func (t *Table) Write(w io.Writer, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if !noHeaders {
		if _, err := fmt.Fprintln(tw, strings.Join(t.Headers, "\t")); err != nil {
			return err
		}
	}
	for _, r := range t.Rows {
		clean := make([]string, len(r))
		for i, c := range r {
			clean[i] = cellReplacer.Replace(c)
		}
		if _, err := fmt.Fprintln(tw, strings.Join(clean, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

var cellReplacer = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

// Truncate shortens s to at most n runes, marking the cut with an ellipsis.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

// ShortID is the first seven characters of a Freight name, as Git shortens commits.
func ShortID(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}

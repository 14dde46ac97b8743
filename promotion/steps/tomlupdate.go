package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/haul-dev/haul/promotion"
)

// tomlUpdate sets existing scalar values in a TOML file in place, as Kargo's
// toml-update does: only the bytes of each replaced value change, so comments, key
// order, quoting of untouched values and blank lines stay as they were. A key path
// that does not exist, or that names a table or an array rather than a scalar, is an
// error naming the key (Kargo's behaviour: the step never adds keys).
func tomlUpdate(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	cfg, p, data, err := readFileUpdate(sc)
	if err != nil {
		return promotion.StepResult{}, err
	}
	out, written, err := setTOMLValues(data, cfg.Updates)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: %w", cfg.Path, err))
	}
	if err := writeFile(p, cfg.Path, out); err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: map[string]any{"commitMessage": tomlCommitMessage(cfg.Path, cfg.Updates, written)}}, nil
}

// tomlScalar is where one scalar value sits in the document.
type tomlScalar struct {
	kind          unstable.Kind
	offset, width int
	literal       bool // a 'literal string'
}

// tomlIndex maps an encoded key path to its scalar, and records every other node
// (tables, arrays, inline tables) by kind so that an update aimed at one can say so.
type tomlIndex struct {
	scalars map[string]tomlScalar
	others  map[string]unstable.Kind
}

// setTOMLValues returns data with each update's value spliced over the existing
// scalar at its key, and each value as it was written. Later updates of the same key
// win, as they would if applied one after the other.
func setTOMLValues(data []byte, updates []fileUpdate) ([]byte, []string, error) {
	idx, err := indexTOML(data)
	if err != nil {
		return nil, nil, err
	}
	written := make([]string, len(updates))
	type splice struct {
		at, width int
		with      []byte
	}
	byKey := map[string]splice{}
	for i, u := range updates {
		path := splitKey(u.Key)
		k := tomlPathKey(path)
		s, ok := idx.scalars[k]
		if !ok {
			if kind, found := idx.others[k]; found {
				return nil, nil, fmt.Errorf("updates[%d]: key %q names %s, not a scalar value; toml-update changes scalar values only", i, u.Key, tomlKindName(kind))
			}
			return nil, nil, fmt.Errorf("updates[%d]: key %q not found; toml-update changes existing keys only", i, u.Key)
		}
		enc, err := tomlEncodeScalar(u.Value, s.kind)
		if str, ok := u.Value.(string); ok && err == nil {
			enc = tomlString(str, s.literal)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("updates[%d].value: %w", i, err)
		}
		written[i] = string(enc)
		byKey[k] = splice{at: s.offset, width: s.width, with: enc}
	}
	splices := make([]splice, 0, len(byKey))
	for _, s := range byKey {
		splices = append(splices, s)
	}
	// Apply from the end of the file backwards so that earlier offsets stay valid.
	sort.Slice(splices, func(i, j int) bool { return splices[i].at > splices[j].at })
	out := bytes.Clone(data)
	for _, s := range splices {
		out = append(out[:s.at:s.at], append(s.with, out[s.at+s.width:]...)...)
	}
	return out, written, nil
}

// indexTOML walks the document's expressions and records where every value is.
func indexTOML(data []byte) (*tomlIndex, error) {
	// The full decoder first: it checks what the expression parser does not (a key
	// defined twice, a table reopened) and reports the line and column.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, fmt.Errorf("parsing: line %d, column %d: %s", line, col, de.Error())
		}
		return nil, fmt.Errorf("parsing: %w", err)
	}
	idx := &tomlIndex{scalars: map[string]tomlScalar{}, others: map[string]unstable.Kind{}}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	arrayTables := map[string]int{} // encoded path of an array of tables → tables so far
	// resolve turns a header's key into the path of what it names: below an array of
	// tables, a header continues its latest element ([[a]] then [[a.b]] is a.<n>.b).
	resolve := func(parts []string) []string {
		var out []string
		for i, part := range parts {
			out = append(out, part)
			if n, ok := arrayTables[tomlPathKey(out)]; ok && i < len(parts)-1 {
				out = append(out, strconv.Itoa(n-1))
			}
		}
		return out
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = resolve(tomlKeyParts(e.Key()))
			idx.others[tomlPathKey(table)] = e.Kind
		case unstable.ArrayTable:
			base := resolve(tomlKeyParts(e.Key()))
			bk := tomlPathKey(base)
			idx.others[bk] = e.Kind
			n := arrayTables[bk]
			arrayTables[bk] = n + 1
			table = append(base, strconv.Itoa(n))
			idx.others[tomlPathKey(table)] = unstable.Table
		case unstable.KeyValue:
			idx.value(&p, e.Value(), append(append([]string(nil), table...), tomlKeyParts(e.Key())...))
		}
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	return idx, nil
}

// value records n at path, and its children below it.
func (idx *tomlIndex) value(p *unstable.Parser, n *unstable.Node, path []string) {
	if n == nil || !n.Valid() {
		return
	}
	switch n.Kind {
	case unstable.Array:
		idx.others[tomlPathKey(path)] = n.Kind
		it := n.Children()
		for i := 0; it.Next(); i++ {
			idx.value(p, it.Node(), append(append([]string(nil), path...), strconv.Itoa(i)))
		}
	case unstable.InlineTable:
		idx.others[tomlPathKey(path)] = n.Kind
		it := n.Children()
		for it.Next() {
			kv := it.Node()
			if kv.Kind == unstable.KeyValue {
				idx.value(p, kv.Value(), append(append([]string(nil), path...), tomlKeyParts(kv.Key())...))
			}
		}
	default:
		raw := p.Raw(n.Raw)
		idx.scalars[tomlPathKey(path)] = tomlScalar{
			kind: n.Kind, offset: int(n.Raw.Offset), width: int(n.Raw.Length),
			literal: len(raw) > 0 && raw[0] == '\'',
		}
	}
}

// tomlKeyParts returns the parts of a dotted key, unquoted.
func tomlKeyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// tomlPathKey encodes a path so that parts holding dots cannot collide.
func tomlPathKey(path []string) string {
	var b strings.Builder
	for _, part := range path {
		fmt.Fprintf(&b, "%d:%s/", len(part), part)
	}
	return b.String()
}

// tomlKindName names a non-scalar node for an error message.
func tomlKindName(k unstable.Kind) string {
	switch k {
	case unstable.Table:
		return "a table"
	case unstable.ArrayTable:
		return "an array of tables"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "an inline table"
	}
	return k.String()
}

// tomlEncodeScalar writes v as a TOML scalar. JSON gives every number as a float; a
// whole number replacing an integer stays an integer (port = 8080 must not become
// 8080.0, which a program reading an integer rejects).
func tomlEncodeScalar(v any, old unstable.Kind) ([]byte, error) {
	switch x := v.(type) {
	case float64:
		if old == unstable.Integer && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			v = int64(x)
		}
	case float32:
		if old == unstable.Integer && float64(x) == math.Trunc(float64(x)) {
			v = int64(x)
		}
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
	default:
		return nil, fmt.Errorf("%T is not a TOML scalar (string, number or boolean)", v)
	}
	b, err := toml.Marshal(map[string]any{"v": v})
	if err != nil {
		return nil, fmt.Errorf("encoding %v: %w", v, err)
	}
	enc, ok := bytes.CutPrefix(bytes.TrimRight(b, "\n"), []byte("v = "))
	if !ok {
		return nil, fmt.Errorf("encoding %v: unexpected form %q", v, b)
	}
	return enc, nil
}

// tomlString writes s in the quoting the replaced value had: a 'literal string'
// stays literal where s allows it (no quote, no line break, no control character),
// anything else becomes a "basic string".
func tomlString(s string, literal bool) []byte {
	if literal && !strings.ContainsFunc(s, func(r rune) bool { return r == '\'' || r < 0x20 || r == 0x7f }) {
		return []byte("'" + s + "'")
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return []byte(b.String())
}

// tomlCommitMessage is Kargo's commitMessage output: the file, then one
// "- key: value" line per update with the value as it was written to the file.
func tomlCommitMessage(path string, updates []fileUpdate, written []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Updated %s\n", path)
	for i, u := range updates {
		fmt.Fprintf(&b, "\n- %s: %s", u.Key, written[i])
	}
	return b.String()
}

package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/haul-dev/haul/promotion"
)

// jsonUpdate sets values at dot paths in a JSON file. Existing values are replaced in
// place, so the rest of the file keeps its formatting; new keys are appended.
func jsonUpdate(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	cfg, p, data, err := readFileUpdate(sc)
	if err != nil {
		return promotion.StepResult{}, err
	}
	for i, u := range cfg.Updates {
		enc, err := json.Marshal(u.Value)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d].value: %w", i, err))
		}
		data, err = spliceJSON(data, splitKey(u.Key), enc)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d]: key %q in %s: %w", i, u.Key, cfg.Path, err))
		}
	}
	if !json.Valid(data) {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: result is not valid JSON", cfg.Path))
	}
	if err := writeFile(p, cfg.Path, data); err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: map[string]any{"commitMessage": updatesCommitMessage(cfg, true)}}, nil
}

// spliceJSON replaces (or inserts) the value at path in doc.
func spliceJSON(doc []byte, path []string, val []byte) ([]byte, error) {
	start, end, err := findJSON(doc, 0, path)
	if err == nil {
		return append(append(append([]byte{}, doc[:start]...), val...), doc[end:]...), nil
	}
	// Missing key: find the deepest existing object and insert the rest there.
	for k := len(path) - 1; k >= 0; k-- {
		s, e, ferr := findJSON(doc, 0, path[:k])
		if ferr != nil {
			continue
		}
		obj := bytes.TrimSpace(doc[s:e])
		if len(obj) == 0 || obj[0] != '{' {
			return nil, fmt.Errorf("cannot add a key below a non-object value")
		}
		nested := val
		for j := len(path) - 1; j > k; j-- {
			nested = []byte(fmt.Sprintf("{%q: %s}", path[j], nested))
		}
		entry := fmt.Sprintf("%q: %s", path[k], nested)
		closing := s + bytes.LastIndexByte(doc[s:e], '}')
		inner := bytes.TrimSpace(doc[s+1 : closing])
		sep := ", "
		if len(inner) == 0 {
			sep = ""
		}
		out := append([]byte{}, doc[:closing]...)
		out = bytes.TrimRight(out, " \t\r\n")
		out = append(out, []byte(sep+entry)...)
		out = append(out, doc[closing:]...)
		return out, nil
	}
	return nil, err
}

// findJSON returns the byte span of the value at path.
func findJSON(doc []byte, _ int, path []string) (int, int, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	start, end, err := seekValue(dec, doc, path)
	return start, end, err
}

func seekValue(dec *json.Decoder, doc []byte, path []string) (int, int, error) {
	// Skip whitespace to find where the value starts.
	off := int(dec.InputOffset())
	for off < len(doc) && (doc[off] == ' ' || doc[off] == '\n' || doc[off] == '\t' || doc[off] == '\r' || doc[off] == ':' || doc[off] == ',') {
		off++
	}
	if len(path) == 0 {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, err
		}
		return off, int(dec.InputOffset()), nil
	}
	tok, err := dec.Token()
	if err != nil {
		return 0, 0, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return 0, 0, err
			}
			if kt.(string) == path[0] {
				return seekValue(dec, doc, path[1:])
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, 0, err
			}
		}
		return 0, 0, fmt.Errorf("%q not found", path[0])
	case json.Delim('['):
		idx, err := strconv.Atoi(path[0])
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a list index", path[0])
		}
		for i := 0; dec.More(); i++ {
			if i == idx {
				return seekValue(dec, doc, path[1:])
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, 0, err
			}
		}
		return 0, 0, fmt.Errorf("index %d out of range", idx)
	}
	return 0, 0, fmt.Errorf("%q is below a scalar", path[0])
}

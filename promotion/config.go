package promotion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Validator is implemented by step configs that check cross-field rules after decoding.
type Validator interface{ Validate() error }

// DecodeConfig decodes a step's (already evaluated) config into out, a pointer to a
// struct with json tags. Unknown fields are rejected, naming them; fields whose tag lacks
// omitempty/omitzero are required and a missing one is rejected, naming it. Bad config
// is never going to get better, so the error is Terminal.
func DecodeConfig(raw map[string]any, out any) error {
	if raw == nil {
		raw = map[string]any{}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return Terminal(fmt.Errorf("encoding config: %w", err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return Terminal(fmt.Errorf("invalid config: %s", strings.TrimPrefix(err.Error(), "json: ")))
	}
	if err := checkRequired(reflect.ValueOf(out).Elem(), raw, "config"); err != nil {
		return Terminal(err)
	}
	if v, ok := out.(Validator); ok {
		if err := v.Validate(); err != nil {
			return Terminal(fmt.Errorf("invalid config: %w", err))
		}
	}
	return nil
}

// checkRequired walks struct fields and reports required ones absent from raw.
func checkRequired(v reflect.Value, raw any, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkRequired(v.Elem(), raw, path)
	case reflect.Slice:
		arr, _ := raw.([]any)
		for i := 0; i < v.Len() && i < len(arr); i++ {
			if err := checkRequired(v.Index(i), arr[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	m, _ := raw.(map[string]any)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		parts := strings.Split(tag, ",")
		name := parts[0]
		optional := false
		for _, p := range parts[1:] {
			if p == "omitempty" || p == "omitzero" {
				optional = true
			}
		}
		sub, present := m[name]
		if !present {
			if !optional {
				return fmt.Errorf("invalid config: missing required field %q", path+"."+name)
			}
			continue
		}
		if err := checkRequired(v.Field(i), sub, path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

package steps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// jsonParse reads a JSON file and computes outputs from expressions over it, so later
// steps can use values the repository holds (a chart version, an image tag).
var jsonParse = parseStep(func(data []byte, rel string) (any, error) {
	doc, err := decodeJSONDoc(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", rel, err)
	}
	return doc, nil
})

// decodeJSONDoc decodes exactly one JSON value; trailing data is an error.
func decodeJSONDoc(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("the file is empty")
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value")
	}
	return doc, nil
}

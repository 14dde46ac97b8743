package steps

import (
	"fmt"

	sigsyaml "sigs.k8s.io/yaml"
)

// yamlParse reads a YAML file and computes outputs from expressions over it. The file
// passes the same alias, depth and size checks as files yaml-update edits, so an
// alias-expansion bomb is refused before it is expanded into values.
var yamlParse = parseStep(decodeYAMLDoc)

// decodeYAMLDoc parses the first document of a YAML file into JSON-compatible values
// (maps with string keys, lists, strings, numbers, booleans, nil).
func decodeYAMLDoc(data []byte, rel string) (any, error) {
	// The safety check first: conversion expands aliases.
	if _, err := parseYAMLSafe(data, rel); err != nil {
		return nil, err
	}
	js, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", rel, err)
	}
	doc, err := decodeJSONDoc(js)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", rel, err)
	}
	return doc, nil
}

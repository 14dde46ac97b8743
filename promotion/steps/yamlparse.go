package steps

import (
	"context"
	"fmt"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/haul-dev/haul/promotion"
)

// yamlParse reads a YAML file and computes outputs from expressions over it. The file
// passes the same alias, depth and size checks as files yaml-update edits, so an
// alias-expansion bomb is refused before it is expanded into values.
func yamlParse(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg parseConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	p, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	data, err := readCapped(p, cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	doc, err := decodeYAMLDoc(data, cfg.Path)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	out, err := evalOutputs(doc, cfg.Path, cfg.Outputs)
	if err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: out}, nil
}

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

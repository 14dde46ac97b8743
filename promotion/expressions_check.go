package promotion

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/expr-lang/expr"
)

// The types below describe, for the type checker only, what expressions in step
// configs, step conditions and vars see at run time (see Engine.env): ctx's fields,
// and what each function returns. Artifact results answer to Kargo's Go field names and
// to Haul's JSON names, as the maps the functions return at run time do.

type checkOriginType struct {
	Kind      string
	Name      string
	KindLower string `expr:"kind"`
	NameLower string `expr:"name"`
}

type checkImageType struct {
	RepoURL, Tag, Digest string
	RepoURLLower         string `expr:"repoURL"`
	TagLower             string `expr:"tag"`
	DigestLower          string `expr:"digest"`
}

type checkCommitType struct {
	RepoURL, ID, Branch, Tag, Message, Author string
	RepoURLLower                              string `expr:"repoURL"`
	IDLower                                   string `expr:"id"`
	BranchLower                               string `expr:"branch"`
	TagLower                                  string `expr:"tag"`
	MessageLower                              string `expr:"message"`
	AuthorLower                               string `expr:"author"`
}

type checkChartType struct {
	RepoURL, Name, Version string
	RepoURLLower           string `expr:"repoURL"`
	NameLower              string `expr:"name"`
	VersionLower           string `expr:"version"`
}

// checkArtifactType is Kargo's expression-friendly artifact reference.
type checkArtifactType struct {
	ArtifactType, SubscriptionName, Version string
	Metadata                                map[string]any
}

type checkCtxType struct {
	Project       string `expr:"project"`
	Stage         string `expr:"stage"`
	Promotion     string `expr:"promotion"`
	UIBaseURL     string `expr:"uiBaseUrl"`
	TargetFreight struct {
		Name   string `expr:"name"`
		Alias  string `expr:"alias"`
		Origin struct {
			Kind string `expr:"kind"`
			Name string `expr:"name"`
		} `expr:"origin"`
	} `expr:"targetFreight"`
	Meta struct {
		Promotion struct {
			Actor    string `expr:"actor"`
			Rollback bool   `expr:"rollback"`
		} `expr:"promotion"`
		Step struct {
			Alias string `expr:"alias"`
		} `expr:"step"`
	} `expr:"meta"`
}

type checkTaskType struct {
	Outputs map[string]any `expr:"outputs"`
}

// checkFunctions gives every expression function its typed signatures (Kargo's), so
// the checker rejects unknown functions and wrong argument counts or types.
func checkFunctions() []expr.Option {
	none := func(...any) (any, error) { return nil, nil }
	fn := func(name string, types ...any) expr.Option { return expr.Function(name, none, types...) }
	return []expr.Option{
		fn("quote", new(func(any) string)),
		fn("unsafeQuote", new(func(any) string)),
		fn("asJSON", new(func(any) string)),
		fn("asYAML", new(func(any) string)),
		fn("warehouse", new(func(string) checkOriginType)),
		fn("imageFrom", new(func(string, checkOriginType) checkImageType), new(func(string) checkImageType)),
		fn("commitFrom", new(func(string, checkOriginType) checkCommitType), new(func(string) checkCommitType)),
		fn("chartFrom",
			new(func(string, string, checkOriginType) checkChartType), new(func(string, string) checkChartType),
			new(func(string, checkOriginType) checkChartType), new(func(string) checkChartType)),
		fn("artifactFrom", new(func(string, checkOriginType) checkArtifactType), new(func(string) checkArtifactType)),
		fn("freightMetadata", new(func(string) map[string]any)),
		fn("freightStatus", new(func(string) map[string]any)),
		fn("stageMetadata", new(func(string) map[string]any)),
		fn("secret", new(func(string) map[string]string)),
		fn("configMap", new(func(string) map[string]string)),
		fn("sharedSecret", new(func(string) map[string]string)),
		fn("sharedConfigMap", new(func(string) map[string]string)),
		fn("success", new(func() bool)),
		fn("failure", new(func() bool)),
		fn("always", new(func() bool)),
		fn("status", new(func(string) string)),
		fn("semverDiff", new(func(string, string) string)),
		fn("semverParse", new(func(string) *semver.Version)),
	}
}

// CheckExpression type-checks one step expression (the body of a ${{ }}, a step's if,
// a var's value) against the environment steps see, without running it: an unknown
// function, variable or ctx field, a field an artifact does not have, or a wrong
// number or type of arguments is an error. vars, outputs and task.outputs depend on
// the pipeline, so any key of theirs passes.
func CheckExpression(src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("checking expression: %v", r)
		}
	}()
	if len(src) > MaxExpressionSize {
		return fmt.Errorf("expression is %d bytes, longer than the limit of %d", len(src), MaxExpressionSize)
	}
	if strings.TrimSpace(src) == "" {
		return errors.New("empty expression")
	}
	env := map[string]any{
		"ctx":      checkCtxType{},
		"vars":     map[string]any{},
		"outputs":  map[string]any{},
		"task":     checkTaskType{},
		"response": map[string]any{},
	}
	opts := append([]expr.Option{expr.Env(env), expr.MaxNodes(MaxExpressionNodes), expr.DisableBuiltin("repeat")}, checkFunctions()...)
	_, err = expr.Compile(src, opts...)
	return err
}

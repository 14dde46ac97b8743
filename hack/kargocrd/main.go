// Command kargocrd lists every spec field path of Kargo's CRDs, with its type and the
// constraints a probe value must meet, for the schema-parity test in internal/manifest.
// It reads the CRDs from a bare Kargo repository at HEAD and writes
// internal/manifest/testdata/kargo_crd_fields.json:
//
//	go run ./hack/kargocrd -git-dir /work/.mirror/akuity+kargo/repo
//
// Warehouse subscriptions are free-form in the CRD (x-kubernetes-preserve-unknown-fields,
// for generic subscriptions), so their fields come from Kargo's Go types
// (RepoSubscription in api/v1alpha1) instead.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Field is one leaf of a Kargo schema.
type Field struct {
	// Path is dotted, with [] for list items and {} for map values, e.g.
	// spec.requestedFreight[].sources.stages[].
	Path string `json:"path"`
	// Type is the schema type of the leaf: string, integer, number, boolean, or object
	// for a free-form object (x-kubernetes-preserve-unknown-fields or no properties).
	Type string `json:"type"`
	// Enum, Pattern and Format are the constraints a probe value must meet.
	Enum    []string `json:"enum,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Format  string   `json:"format,omitempty"`
	// IntOrString marks x-kubernetes-int-or-string fields.
	IntOrString bool `json:"intOrString,omitempty"`
}

// Fixture is what the program writes.
type Fixture struct {
	// Source names the Kargo commit the fields come from.
	Source string `json:"source"`
	// Kinds maps a Kargo kind to its spec leaves (and, for Freight, its top-level
	// artifact fields).
	Kinds map[string][]Field `json:"kinds"`
}

var kinds = []string{"Project", "ProjectConfig", "Warehouse", "Stage", "PromotionTask", "ClusterPromotionTask", "Freight", "ClusterConfig"}

func main() {
	gitDir := flag.String("git-dir", "", "bare Kargo repository (read at HEAD)")
	out := flag.String("out", "internal/manifest/testdata/kargo_crd_fields.json", "output file")
	flag.Parse()
	if *gitDir == "" {
		log.Fatal("-git-dir is required")
	}
	commit, err := git(*gitDir, "rev-parse", "HEAD")
	if err != nil {
		log.Fatal(err)
	}
	fx := Fixture{Source: "akuity/kargo@" + strings.TrimSpace(commit) + " charts/kargo/resources/crds", Kinds: map[string][]Field{}}
	for _, kind := range kinds {
		file := "charts/kargo/resources/crds/kargo.akuity.io_" + strings.ToLower(kind) + "s.yaml"
		raw, err := git(*gitDir, "show", "HEAD:"+file)
		if err != nil {
			log.Fatalf("%s: %v", file, err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal([]byte(raw), crd); err != nil {
			log.Fatalf("%s: %v", file, err)
		}
		var fields []Field
		for _, v := range crd.Spec.Versions {
			if v.Name != "v1alpha1" || v.Schema == nil {
				continue
			}
			root := v.Schema.OpenAPIV3Schema
			for name, p := range root.Properties {
				switch name {
				case "apiVersion", "kind", "metadata", "status":
					continue
				}
				walk(name, p, &fields)
			}
		}
		if kind == "Warehouse" {
			sub, err := goFields(*gitDir, "RepoSubscription", "spec.subscriptions[]")
			if err != nil {
				log.Fatal(err)
			}
			kept := fields[:0]
			for _, f := range fields {
				if f.Path != "spec.subscriptions[]" {
					kept = append(kept, f)
				}
			}
			fields = append(kept, sub...)
		}
		sort.Slice(fields, func(i, j int) bool { return fields[i].Path < fields[j].Path })
		fx.Kinds[kind] = fields
	}
	b, err := json.MarshalIndent(fx, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, f := range fx.Kinds {
		n += len(f)
	}
	fmt.Printf("%d fields of %d kinds from %s\n", n, len(fx.Kinds), fx.Source)
}

func walk(path string, p apiextensionsv1.JSONSchemaProps, out *[]Field) {
	switch {
	case p.Type == "object" && len(p.Properties) > 0:
		for name, c := range p.Properties {
			walk(path+"."+name, c, out)
		}
	case p.Type == "object" && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil:
		walk(path+".{}", *p.AdditionalProperties.Schema, out)
	case p.Type == "array" && p.Items != nil && p.Items.Schema != nil:
		walk(path+"[]", *p.Items.Schema, out)
	default:
		f := Field{Path: path, Type: p.Type, Pattern: p.Pattern, Format: p.Format, IntOrString: p.XIntOrString}
		if f.Type == "" {
			f.Type = "object"
		}
		for _, e := range p.Enum {
			var s string
			if json.Unmarshal(e.Raw, &s) == nil {
				f.Enum = append(f.Enum, s)
			}
		}
		*out = append(*out, f)
	}
}

// goFields walks Kargo's Go type root (in api/v1alpha1) the way encoding/json would
// see it, and returns its leaves under prefix.
func goFields(gitDir, root, prefix string) ([]Field, error) {
	list, err := git(gitDir, "ls-tree", "--name-only", "HEAD", "api/v1alpha1/")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	types := map[string]ast.Expr{}
	for _, name := range strings.Fields(list) {
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.Contains(name, "zz_generated") {
			continue
		}
		src, err := git(gitDir, "show", "HEAD:"+name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, sp := range g.Specs {
				ts := sp.(*ast.TypeSpec)
				types[ts.Name.Name] = ts.Type
			}
		}
	}
	var out []Field
	var walkType func(path string, e ast.Expr, doc string, depth int)
	walkType = func(path string, e ast.Expr, doc string, depth int) {
		if depth > 12 {
			return
		}
		leaf := func(typ string) {
			f := Field{Path: path, Type: typ}
			for _, line := range strings.Split(doc, "\n") {
				line = strings.TrimSpace(line)
				if v, ok := strings.CutPrefix(line, "+kubebuilder:validation:Enum="); ok {
					f.Enum = strings.Split(v, ";")
				}
				if v, ok := strings.CutPrefix(line, "+kubebuilder:validation:Pattern="); ok {
					f.Pattern = strings.Trim(v, "`\"")
				}
			}
			out = append(out, f)
		}
		switch t := e.(type) {
		case *ast.StarExpr:
			walkType(path, t.X, doc, depth)
		case *ast.ArrayType:
			walkType(path+"[]", t.Elt, doc, depth)
		case *ast.MapType:
			walkType(path+".{}", t.Value, doc, depth)
		case *ast.SelectorExpr:
			switch t.Sel.Name {
			case "Duration":
				f := Field{Path: path, Type: "string", Format: "duration"}
				out = append(out, f)
			case "Time":
				out = append(out, Field{Path: path, Type: "string", Format: "date-time"})
			default:
				leaf("object")
			}
		case *ast.Ident:
			switch t.Name {
			case "string":
				leaf("string")
			case "bool":
				leaf("boolean")
			case "int", "int32", "int64", "uint", "uint32", "uint64":
				leaf("integer")
			case "float32", "float64":
				leaf("number")
			default:
				def, ok := types[t.Name]
				if !ok {
					leaf("object")
					return
				}
				walkType(path, def, doc, depth+1)
			}
		case *ast.StructType:
			st := t
			for _, fl := range st.Fields.List {
				tag := ""
				if fl.Tag != nil {
					tag = reflect.StructTag(strings.Trim(fl.Tag.Value, "`")).Get("json")
				}
				name, _, _ := strings.Cut(tag, ",")
				if name == "-" {
					continue
				}
				fdoc := ""
				if fl.Doc != nil {
					fdoc = fl.Doc.Text()
				}
				// Comment markers are not in Doc.Text(); read the raw lines.
				if fl.Doc != nil {
					var raw []string
					for _, c := range fl.Doc.List {
						raw = append(raw, strings.TrimPrefix(c.Text, "//"))
					}
					fdoc = strings.Join(raw, "\n")
				}
				if name == "" && len(fl.Names) == 0 { // embedded
					walkType(path, fl.Type, fdoc, depth+1)
					continue
				}
				if name == "" {
					name = fl.Names[0].Name
				}
				walkType(path+"."+name, fl.Type, fdoc, depth+1)
			}

		default:
			leaf("object")
		}
	}
	def, ok := types[root]
	if !ok {
		return nil, fmt.Errorf("type %s not found in Kargo's api/v1alpha1", root)
	}
	walkType(prefix, def, "", 0)
	return out, nil
}

func git(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"--git-dir", dir}, args...)...).Output()
	return string(out), err
}

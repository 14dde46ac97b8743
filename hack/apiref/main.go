// Command apiref writes docs/reference/api.md, the field reference of the
// haul.dev/v1alpha1 API, from the Go types in api/v1alpha1: their doc comments (the
// same text `kubectl explain` shows) and their kubebuilder markers (defaults and
// bounds). Run it from the repository root (`make generate` does).
//
//	go run ./hack/apiref [-api DIR] [-out FILE]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

func main() {
	apiDir := flag.String("api", "api/v1alpha1", "directory of the API types")
	out := flag.String("out", "docs/reference/api.md", "file to write")
	flag.Parse()
	if err := run(*apiDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apiref:", err)
		os.Exit(1)
	}
}

func run(apiDir, out string) error {
	pkg, err := load(apiDir)
	if err != nil {
		return err
	}
	doc, err := render(pkg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", out, err)
	}
	if err := os.WriteFile(out, doc, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// typeInfo is one named type of the API package.
type typeInfo struct {
	name    string
	doc     []string // comment lines, markers included
	expr    ast.Expr // the underlying type
	markers markers
}

// field is one field of a struct type, as it appears in JSON.
type field struct {
	json    string
	typ     ast.Expr
	doc     []string
	markers markers
}

// markers are the kubebuilder markers on a type or field, by name (without the
// +kubebuilder:validation: or +kubebuilder: prefix), in the order written.
type markers []marker

type marker struct{ name, value string }

func (ms markers) get(name string) (string, bool) {
	for _, m := range ms {
		if m.name == name {
			return m.value, true
		}
	}
	return "", false
}

type apiPackage struct {
	types map[string]*typeInfo
	// kinds are the root objects (object:root, not a List), sorted.
	kinds []string
}

func load(dir string) (*apiPackage, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	pkg := &apiPackage{types: map[string]*typeInfo{}}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || strings.HasPrefix(n, "zz_generated") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", n, err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				cg := ts.Doc
				if cg == nil {
					cg = gd.Doc
				}
				lines := commentLines(cg)
				t := &typeInfo{name: ts.Name.Name, doc: lines, expr: ts.Type, markers: parseMarkers(lines)}
				pkg.types[t.name] = t
				if _, root := t.markers.get("object:root"); root && !strings.HasSuffix(t.name, "List") {
					pkg.kinds = append(pkg.kinds, t.name)
				}
			}
		}
	}
	sort.Strings(pkg.kinds)
	if len(pkg.kinds) == 0 {
		return nil, fmt.Errorf("no root types (+kubebuilder:object:root=true) in %s", dir)
	}
	return pkg, nil
}

func commentLines(cg *ast.CommentGroup) []string {
	if cg == nil {
		return nil
	}
	var out []string
	for _, c := range cg.List {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(c.Text, "//"), " "))
	}
	return out
}

func parseMarkers(lines []string) markers {
	var ms markers
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "+") {
			continue
		}
		l = strings.TrimPrefix(l, "+")
		name, value, _ := strings.Cut(l, "=")
		name = strings.TrimPrefix(name, "kubebuilder:validation:")
		name = strings.TrimPrefix(name, "kubebuilder:")
		ms = append(ms, marker{name: name, value: value})
	}
	return ms
}

// description joins the prose lines of a comment (markers dropped) into one
// paragraph, as controller-gen does for the CRD.
func description(lines []string) string {
	var words []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "+") {
			continue
		}
		words = append(words, l)
	}
	return strings.Join(words, " ")
}

func (p *apiPackage) fields(t *typeInfo) []field {
	st, ok := t.expr.(*ast.StructType)
	if !ok {
		return nil
	}
	var out []field
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			tag = reflect.StructTag(strings.Trim(f.Tag.Value, "`")).Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || len(f.Names) == 0 {
			continue // TypeMeta, ObjectMeta's siblings: described by Kubernetes
		}
		if name == "metadata" {
			continue
		}
		lines := commentLines(f.Doc)
		out = append(out, field{json: name, typ: f.Type, doc: lines, markers: parseMarkers(lines)})
	}
	return out
}

// localType is the API type a field refers to (through pointers, slices and map
// values), or "" for a built-in or external type.
func (p *apiPackage) localType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return p.localType(x.X)
	case *ast.ArrayType:
		return p.localType(x.Elt)
	case *ast.MapType:
		return p.localType(x.Value)
	case *ast.Ident:
		if _, ok := p.types[x.Name]; ok {
			return x.Name
		}
	}
	return ""
}

func (p *apiPackage) isStruct(name string) bool {
	t, ok := p.types[name]
	if !ok {
		return false
	}
	_, isStruct := t.expr.(*ast.StructType)
	return isStruct
}

// typeString renders a field's type for a reader of YAML: string, integer, []T,
// map[string]T, with API struct types linked to their table.
func (p *apiPackage) typeString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return p.typeString(x.X)
	case *ast.ArrayType:
		return "[]" + p.typeString(x.Elt)
	case *ast.MapType:
		return "map[" + p.typeString(x.Key) + "]" + p.typeString(x.Value)
	case *ast.Ident:
		if p.isStruct(x.Name) {
			return "[" + x.Name + "](#" + anchor(x.Name) + ")"
		}
		if t, ok := p.types[x.Name]; ok {
			return p.typeString(t.expr)
		}
		switch x.Name {
		case "int32", "int64", "int":
			return "integer"
		case "bool":
			return "boolean"
		}
		return x.Name
	case *ast.SelectorExpr:
		switch x.Sel.Name {
		case "Time":
			return "time (RFC 3339)"
		case "Duration":
			return "duration"
		case "JSON":
			return "JSON"
		}
		return x.Sel.Name
	}
	return "?"
}

func anchor(name string) string { return strings.ToLower(name) }

// constraints lists a field's default, bounds, enum and required-ness from its markers
// and those of its named type.
func (p *apiPackage) constraints(f field) string {
	var out []string
	if _, ok := f.markers.get("required"); ok {
		out = append(out, "required")
	} else if _, ok := f.markers.get("optional"); ok {
		out = append(out, "optional")
	}
	ms := append(markers{}, f.markers...)
	if n := namedType(f.typ); n != "" {
		if t, ok := p.types[n]; ok {
			ms = append(ms, t.markers...)
		}
	}
	labels := []struct{ marker, label string }{
		{"default", "default"},
		{"Enum", "one of"},
		{"Minimum", "min"},
		{"Maximum", "max"},
		{"MinLength", "min length"},
		{"MaxLength", "max length"},
		{"MinItems", "min items"},
		{"MaxItems", "max items"},
		{"items:MaxLength", "item max length"},
		{"Pattern", "pattern"},
	}
	for _, l := range labels {
		v, ok := ms.get(l.marker)
		if !ok {
			continue
		}
		v = strings.Trim(v, "`\"")
		if l.marker == "Enum" {
			v = strings.ReplaceAll(v, ";", ", ")
		}
		if l.marker == "Pattern" {
			v = "`" + v + "`"
		}
		out = append(out, l.label+" "+v)
	}
	return strings.Join(out, "; ")
}

// namedType is the API type name a field's type refers to directly or through a
// pointer, for enum and other type-level markers.
func namedType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return namedType(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// render writes the reference: one section per kind, and in it one table per struct
// type reachable from the kind that no earlier section documented.
func render(p *apiPackage) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<!-- Code generated by hack/apiref from api/v1alpha1; DO NOT EDIT. -->\n\n")
	b.WriteString("# haul.dev/v1alpha1 API reference\n\n")
	b.WriteString("Every kind Haul stores, with the fields of each of its types. The descriptions are the\n")
	b.WriteString("Go doc comments, which `kubectl explain` also shows; defaults and bounds come from the\n")
	b.WriteString("validation markers the API server enforces. Regenerate with `make generate`.\n\n")
	for _, k := range p.kinds {
		fmt.Fprintf(&b, "- [%s](#%s)\n", k, anchor(k))
	}
	b.WriteString("\n")
	done := map[string]bool{}
	for _, k := range p.kinds {
		t := p.types[k]
		scope := "namespaced"
		if v, ok := t.markers.get("resource:scope"); ok && strings.HasPrefix(v, "Cluster") {
			scope = "cluster-scoped"
		}
		fmt.Fprintf(&b, "## %s\n\n", k)
		fmt.Fprintf(&b, "%s\n\n", description(t.doc))
		fmt.Fprintf(&b, "`apiVersion: haul.dev/v1alpha1`, `kind: %s`, %s.\n\n", k, scope)
		queue := []string{k}
		for len(queue) > 0 {
			name := queue[0]
			queue = queue[1:]
			if done[name] {
				continue
			}
			done[name] = true
			tt := p.types[name]
			fs := p.fields(tt)
			if name != k {
				fmt.Fprintf(&b, "### %s\n\n%s\n\n", name, description(tt.doc))
			} else {
				fmt.Fprintf(&b, "### %s\n\n", name)
			}
			if len(fs) == 0 {
				b.WriteString("No fields.\n\n")
				continue
			}
			b.WriteString("| Field | Type | Description | Validation |\n|---|---|---|---|\n")
			for _, f := range fs {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.json, cell(p.typeString(f.typ)), cell(description(f.doc)), cell(p.constraints(f)))
				if lt := p.localType(f.typ); lt != "" && p.isStruct(lt) && !done[lt] {
					queue = append(queue, lt)
				}
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes(), nil
}

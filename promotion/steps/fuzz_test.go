package steps

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// FuzzParseYAMLSafe feeds arbitrary documents to the parser every YAML-editing step
// uses. An accepted document expands (aliases followed) to no more than the node limit
// and no deeper than the depth limit, and what a step writes back parses again to the
// same data, so an edit can never produce a file the next promotion cannot read or reads
// differently. Comments are kept on a best-effort basis by the YAML library (a comment
// after a quoted root scalar, for one, is dropped), so they are left out of the comparison.
func FuzzParseYAMLSafe(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a: &x [1, 2]\nb: *x\n", "- &a [x,x]\n- &b [*a,*a]\n- &c [*b,*b]\n", "[[[[[[]]]]]]",
		"a: b: c", "\"\\x\"", "? [a]\n: b\n", "---\n---\n", "a: !!binary aGk=\n", "&a [*a]", "# only a comment\n", "",
		strings.Repeat("[", 300) + strings.Repeat("]", 300), "k: |\n  ${{ x }}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rn, err := parseYAMLSafe(data, "values.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "values.yaml") {
				t.Fatalf("refusal does not name the file: %v", err)
			}
			return
		}
		if n, deep := expandedNodes(rn.YNode(), 0, maxYAMLNodes+1); n > maxYAMLNodes || deep {
			t.Fatalf("accepted a document expanding to %d nodes (deeper than %d: %v)", n, maxYAMLDepth, deep)
		}
		out, err := rn.String()
		if err != nil {
			return // kyaml cannot encode some accepted nodes (e.g. odd tags); steps then fail with an error
		}
		if strings.TrimSpace(out) == "" {
			return // an empty document: steps read it as an empty mapping
		}
		again, err := parseYAMLSafe([]byte(out), "values.yaml")
		if err != nil {
			t.Fatalf("written document does not parse again: %v\n%s", err, out)
		}
		want, got := withoutComments(t, rn.YNode()), withoutComments(t, again.YNode())
		if got != want {
			t.Fatalf("round trip changed the document:\n%s\n---\n%s", want, got)
		}
	})
}

// withoutComments encodes a copy of n with every comment removed.
func withoutComments(t *testing.T, n *yaml.Node) string {
	var strip func(*yaml.Node) *yaml.Node
	seen := map[*yaml.Node]*yaml.Node{}
	strip = func(n *yaml.Node) *yaml.Node {
		if n == nil {
			return nil
		}
		if c, ok := seen[n]; ok {
			return c
		}
		c := *n
		seen[n] = &c
		c.HeadComment, c.LineComment, c.FootComment = "", "", ""
		c.Alias = strip(n.Alias)
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			c.Content[i] = strip(k)
		}
		return &c
	}
	out, err := yaml.NewRNode(strip(n)).String()
	if err != nil {
		t.Fatalf("encoding a document that encoded before: %v", err)
	}
	return out
}

// expandedNodes counts nodes with aliases expanded, independently of the guard under
// test, stopping once the count reaches limit.
func expandedNodes(n *yaml.Node, depth, limit int) (int, bool) {
	if n == nil {
		return 0, false
	}
	if depth > maxYAMLDepth+1 {
		return 1, true
	}
	count := 1
	kids := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		kids = []*yaml.Node{n.Alias}
	}
	for _, c := range kids {
		k, deep := expandedNodes(c, depth+1, limit-count)
		count += k
		if deep || count >= limit {
			return count, deep
		}
	}
	return count, false
}

// FuzzScalarNodeRoundTrip writes arbitrary strings (image tags, commit messages, chart
// versions from Freight) as YAML values the way yaml-update and helm-update-image do:
// read back, the value is the same string and the document gained no other key, so
// Freight data can never become YAML structure.
func FuzzScalarNodeRoundTrip(f *testing.F) {
	for _, s := range []string{"v1.2.3", "1.20", "true", "null", "~", "a: b", "x\nevil: 1", "- x", "&a", "*a", "!!map {}", "'", "\"",
		"#c", " lead", "trail ", "${{ vars.x }}", "{a: 1}", "[1]", "\x00", "\ufeffbom", "0x1F", "1e3", "|\n  x", "---", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, err := parseYAMLSafe([]byte("image:\n  tag: old\nother: kept\n"), "values.yaml")
		if err != nil {
			t.Fatal(err)
		}
		v, err := scalarNode(s)
		if !utf8.ValidString(s) {
			// Such bytes survive in YAML only as !!binary; the step must refuse them.
			if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
				t.Fatalf("scalarNode(%q) = %v, want a refusal naming invalid UTF-8", s, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("scalarNode(%q): %v", s, err)
		}
		if err := doc.PipeE(yaml.Lookup("image"), yaml.SetField("tag", v)); err != nil {
			t.Fatalf("setting image.tag to %q: %v", s, err)
		}
		out, err := doc.String()
		if err != nil {
			return // not encodable (invalid UTF-8): the step reports an error, nothing is written
		}
		back, err := parseYAMLSafe([]byte(out), "values.yaml")
		if err != nil {
			t.Fatalf("value %q produced a document that does not parse: %v\n%s", s, err, out)
		}
		got, err := back.Pipe(yaml.Lookup("image", "tag"))
		if err != nil || got == nil {
			t.Fatalf("value %q: image.tag lost: %v\n%s", s, err, out)
		}
		if got.YNode().Kind != yaml.ScalarNode || got.YNode().Value != s {
			t.Fatalf("value %q read back as %q (kind %d)\n%s", s, got.YNode().Value, got.YNode().Kind, out)
		}
		fields, _ := back.Fields()
		if strings.Join(fields, ",") != "image,other" {
			t.Fatalf("value %q changed the keys to %v\n%s", s, fields, out)
		}
		if img, _ := back.Pipe(yaml.Lookup("image")); img != nil {
			if keys, _ := img.Fields(); len(keys) != 1 {
				t.Fatalf("value %q added keys under image: %v", s, keys)
			}
		}
	})
}

// FuzzAuthorizedStage feeds arbitrary haul.dev/authorized-stage annotation values: a
// value without glob characters authorizes exactly the one "<project>:<stage>" it
// names, and a value naming another project never authorizes this one.
func FuzzAuthorizedStage(f *testing.F) {
	f.Add("shop:prod", "shop", "prod")
	f.Add(" shop:prod ", "shop", "prod")
	f.Add("*:*", "shop", "prod")
	f.Add("shop:*", "other", "prod")
	f.Add("shop:prod:x", "shop", "prod:x")
	f.Add("[:prod", "[", "prod")
	f.Add("sho?:prod", "shop", "prod")
	f.Add("shop\\:prod", "shop", "prod")
	f.Fuzz(func(t *testing.T, v, project, stage string) {
		got := authorizedValue(v, project, stage)
		const meta = "*?[\\"
		trimmed := strings.TrimSpace(v)
		if !strings.ContainsAny(trimmed, meta) && got != (trimmed == project+":"+stage && !strings.Contains(project, ":")) {
			t.Fatalf("authorizedValue(%q, %q, %q) = %v", v, project, stage, got)
		}
		if p, _, ok := strings.Cut(trimmed, ":"); ok && !strings.ContainsAny(p, meta) && p != project && got {
			t.Fatalf("%q authorized project %q", v, project)
		}
		// Project and Stage names are Kubernetes names: never blank, never with spaces.
		if !strings.ContainsAny(project+stage, meta+":") && !strings.ContainsFunc(project+stage, unicode.IsSpace) && project != "" && stage != "" &&
			!authorizedValue(project+":"+stage, project, stage) {
			t.Fatalf("the exact value %s:%s was refused", project, stage)
		}
	})
}

// FuzzTOMLUpdate edits arbitrary TOML documents at arbitrary keys. An accepted edit
// leaves a document that still parses, holds the new value at the key, and differs
// from the input only where the old value stood.
func FuzzTOMLUpdate(f *testing.F) {
	for _, s := range [][2]string{
		{"a = 1\n", "a"}, {"[t]\nk = 'v' # c\n", "t.k"}, {"x = [1, 2, {y = true}]\n", "x.2.y"},
		{"[[b]]\nn = \"a\"\n[[b]]\nn = \"b\"\n", "b.1.n"}, {"\"a.b\" = 1\n", `a\.b`}, {"d = 1979-05-27\n", "d"},
		{"s = \"\"\"\nmulti\n\"\"\"\n", "s"}, {"a.b.c = 1.5\n", "a.b.c"}, {"a = 1\na = 2\n", "a"}, {"[[a]]\n[[a.b]]\nx = 1\n[[a]]\n[[a.b]]\nx = 2\n", "a.1.b.0.x"},
	} {
		f.Add([]byte(s[0]), s[1], "new \"value\"\n")
	}
	f.Fuzz(func(t *testing.T, data []byte, key, value string) {
		if key == "" || !utf8.ValidString(value) {
			return
		}
		out, written, err := setTOMLValues(data, []fileUpdate{{Key: key, Value: value}})
		if err != nil {
			return
		}
		var doc map[string]any
		if err := toml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("edited document does not parse: %v\n%s", err, out)
		}
		var got any = doc
		for _, part := range splitKey(key) {
			switch c := got.(type) {
			case map[string]any:
				got = c[part]
			case []any:
				i, err := strconv.Atoi(part)
				if err != nil || i < 0 || i >= len(c) {
					t.Fatalf("key %q: %q is no index of the array", key, part)
				}
				got = c[i]
			default:
				t.Fatalf("key %q does not lead to a value in the edited document", key)
			}
		}
		if got != value {
			t.Fatalf("key %q holds %#v after the edit, want %#v (written %s)", key, got, value, written[0])
		}
		idx, err := indexTOML(data)
		if err != nil {
			t.Fatal(err)
		}
		at := idx.scalars[tomlPathKey(splitKey(key))]
		want := string(data[:at.offset]) + written[0] + string(data[at.offset+at.width:])
		if string(out) != want {
			t.Fatalf("the edit changed more than the value:\n%s\n---\n%s", data, out)
		}
	})
}

package steps

import (
	"testing"
)

const tomlUpdateDoc = `# service settings
title = "shop"   # shown in the UI

[image]
repository = 'example.com/app'
tag = "1.20"

[labels]
"example.com/version" = "1.20"

[server]
port = 8080
ratio = 0.5
tls = { enabled = false, cert = "a.pem" }
hosts = ["a", "b"]

[[backends]]
name = "alpha"

[[backends]]
name = "beta"
`

func TestTOMLUpdateChangesOnlyTheValues(t *testing.T) {
	r := newStepRun(t, map[string]string{"cfg/app.toml": tomlUpdateDoc})
	res := r.mustRun(t, tomlUpdate, map[string]any{
		"path": "cfg/app.toml",
		"updates": []any{
			map[string]any{"key": "image.tag", "value": "1.21"},
			map[string]any{"key": `labels.example\.com/version`, "value": "1.21"},
			map[string]any{"key": "server.port", "value": float64(9090)},
			map[string]any{"key": "server.ratio", "value": float64(0.75)},
			map[string]any{"key": "server.tls.enabled", "value": true},
			map[string]any{"key": "server.hosts.1", "value": "c"},
			map[string]any{"key": "backends.1.name", "value": "gamma"},
			map[string]any{"key": "title", "value": `say "hi"`},
		},
	})
	want := `# service settings
title = "say \"hi\""   # shown in the UI

[image]
repository = 'example.com/app'
tag = "1.21"

[labels]
"example.com/version" = "1.21"

[server]
port = 9090
ratio = 0.75
tls = { enabled = true, cert = "a.pem" }
hosts = ["a", "c"]

[[backends]]
name = "alpha"

[[backends]]
name = "gamma"
`
	if got := r.read(t, "cfg/app.toml"); got != want {
		t.Fatalf("file after update:\n%s\nwant:\n%s", got, want)
	}
	wantMsg := "Updated cfg/app.toml\n\n- image.tag: \"1.21\"\n- labels.example\\.com/version: \"1.21\"\n- server.port: 9090\n- server.ratio: 0.75\n- server.tls.enabled: true\n- server.hosts.1: \"c\"\n- backends.1.name: \"gamma\"\n- title: \"say \\\"hi\\\"\""
	if res.Output["commitMessage"] != wantMsg {
		t.Errorf("commitMessage = %q, want %q", res.Output["commitMessage"], wantMsg)
	}
}

func TestTOMLUpdateRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		updates []any
		file    string
		want    []string
	}{
		"a key that does not exist": {
			updates: []any{map[string]any{"key": "image.digest", "value": "sha256:1"}},
			want:    []string{`updates[0]: key "image.digest" not found`, "existing keys only"},
		},
		"a table": {
			updates: []any{map[string]any{"key": "image", "value": "x"}},
			want:    []string{`key "image" names a table, not a scalar value`},
		},
		"an array": {
			updates: []any{map[string]any{"key": "server.hosts", "value": "x"}},
			want:    []string{`key "server.hosts" names an array`},
		},
		"a non-scalar value": {
			updates: []any{map[string]any{"key": "image.tag", "value": map[string]any{"a": "b"}}},
			want:    []string{"updates[0].value", "not a TOML scalar"},
		},
		"a duplicate key in the file": {
			file:    "a = 1\na = 2\n",
			updates: []any{map[string]any{"key": "a", "value": float64(3)}},
			want:    []string{"cfg/app.toml: parsing: line 2"},
		},
		"no updates": {
			updates: []any{},
			want:    []string{"updates needs at least one entry"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = tomlUpdateDoc
			}
			r := newStepRun(t, map[string]string{"cfg/app.toml": file})
			_, err := r.run(t, tomlUpdate, map[string]any{"path": "cfg/app.toml", "updates": tc.updates})
			wantErr(t, err, tc.want...)
			if got := r.read(t, "cfg/app.toml"); got != file {
				t.Errorf("a refused update changed the file:\n%s", got)
			}
		})
	}
	t.Run("nested arrays of tables", func(t *testing.T) {
		doc := "[[svc]]\nname = \"a\"\n[[svc.port]]\nn = 1\n[[svc.port]]\nn = 2\n[[svc]]\nname = \"b\"\n[[svc.port]]\nn = 3\n[svc.meta]\nowner = \"x\"\n"
		r := newStepRun(t, map[string]string{"s.toml": doc})
		r.mustRun(t, tomlUpdate, map[string]any{"path": "s.toml", "updates": []any{
			map[string]any{"key": "svc.0.port.1.n", "value": float64(20)},
			map[string]any{"key": "svc.1.port.0.n", "value": float64(30)},
			map[string]any{"key": "svc.1.meta.owner", "value": "y"},
		}})
		want := "[[svc]]\nname = \"a\"\n[[svc.port]]\nn = 1\n[[svc.port]]\nn = 20\n[[svc]]\nname = \"b\"\n[[svc.port]]\nn = 30\n[svc.meta]\nowner = \"y\"\n"
		if got := r.read(t, "s.toml"); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("a path outside the work dir", func(t *testing.T) {
		r := newStepRun(t, nil)
		_, err := r.run(t, tomlUpdate, map[string]any{"path": "../app.toml", "updates": []any{map[string]any{"key": "a", "value": "b"}}})
		wantErr(t, err, `path "../app.toml"`)
	})
}

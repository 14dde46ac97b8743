package promotion

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// FuzzCompileStrict feeds arbitrary sources to the strict compiler behind every
// ${{ }} expression: it never panics, refuses sources over the size limit, caches
// consistently (a second compile agrees with the first), refuses `repeat` (memory
// bomb) and a compiled program runs against the type-check environment without a panic.
func FuzzCompileStrict(f *testing.F) {
	for _, s := range []string{"1+2", "vars.a", "vars?.a ?? 'd'", "repeat('x', 1e9)", "map(1..1000000, #)", "secret('x')", "quote(vars)",
		"ctx.stage", "outputs['a'].b", "let x = 1; x", "((((((1))))))", "[" + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "]",
		"1 in vars", "vars | keys", "#", "$env", "nil.a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e := NewEvaluator()
		prog, err := e.compile(src)
		if len(src) > MaxExpressionSize {
			if err == nil {
				t.Fatalf("compiled a %d-byte source over the limit", len(src))
			}
			return
		}
		prog2, err2 := e.compile(src)
		if (err == nil) != (err2 == nil) || prog != prog2 {
			t.Fatalf("second compile of %q disagrees: %v vs %v", src, err, err2)
		}
		if err != nil {
			return
		}
		if strings.HasPrefix(strings.TrimSpace(src), "repeat(") {
			t.Fatalf("%q compiled with the repeat builtin disabled", src)
		}
		_, _ = expr.Run(prog, compileEnv())
	})
}

package bootstrap

import "testing"

// FuzzSemanticDiff: a document never differs from itself, and whatever
// parses on both sides compares without panicking.
func FuzzSemanticDiff(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a: {b: [1, {c: d}]}\n", "? [a]\n: 1\n", "a: &x {b: 1}\nc: *x\n", "1: 2\n", "~\n", "a: 1.0\nb: 1e3\n"} {
		f.Add([]byte(s), []byte("a: 2\n"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if cs, err := SemanticDiff(a, a, false); err == nil && len(cs) != 0 {
			t.Fatalf("%q differs from itself: %v", a, cs)
		}
		_, _ = SemanticDiff(a, b, false)
		_, _ = SemanticDiff(a, b, true)
	})
}

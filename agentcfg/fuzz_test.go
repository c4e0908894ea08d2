package agentcfg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzValidate: any input either passes or fails with *Errors whose every
// entry names a path and wraps a sentinel; nothing panics.
func FuzzValidate(f *testing.F) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, g := range goldens {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b, filepath.Ext(filepath.Base(g[:len(g)-len(".yaml")])) == ".legacy")
		}
	}
	f.Add([]byte("global: {limits: {max_memory: 0x300}}"), false)
	f.Add([]byte("inputs: {proc: {process_matcher: [&a {ignore: true}, *a]}}"), false)
	f.Add([]byte("vtap_group_id: g-1\nstatic_config: {os-proc-regex: [{match-regex: x}]}"), true)
	f.Add([]byte("global: {communication: {max_escape_duration: 1d2h}}"), false)
	sentinels := []error{ErrSyntax, ErrUnknownKey, ErrDuplicateKey, ErrType, ErrRange, ErrEnum, ErrValue, ErrGroupIDRequired}
	f.Fuzz(func(t *testing.T, doc []byte, legacy bool) {
		if len(doc) > 1<<14 {
			return // long inputs only slow minimization down
		}
		format := Sectioned
		if legacy {
			format = Legacy
		}
		err := Validate(format, doc)
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("not Errors: %#v", err)
		}
		for _, e := range es {
			if e.Path == "" || e.Msg == "" {
				t.Errorf("problem without path or message: %#v", e)
			}
			wraps := false
			for _, s := range sentinels {
				wraps = wraps || errors.Is(e, s)
			}
			if !wraps {
				t.Errorf("%v wraps no sentinel", e)
			}
		}
	})
}

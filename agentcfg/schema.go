package agentcfg

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// The schemas are derived from DeepFlow's reference files by
// internal/gen (see generate.go); the binary needs nothing else.
var (
	//go:embed schema_legacy.json
	legacyJSON []byte
	//go:embed schema_sectioned.json
	sectionedJSON []byte
)

var loadSchemas = sync.OnceValues(func() (map[Format]*schema.File, error) {
	out := map[Format]*schema.File{}
	for f, b := range map[Format][]byte{Legacy: legacyJSON, Sectioned: sectionedJSON} {
		s, err := schema.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("embedded %v schema: %w", f, err)
		}
		out[f] = s
	}
	return out, nil
})

func schemaFor(f Format) (*schema.File, error) {
	all, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	s, ok := all[f]
	if !ok {
		return nil, fmt.Errorf("%w: unknown agent-group-config format %v", ErrEnum, f)
	}
	return s, nil
}

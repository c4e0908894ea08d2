package agentcfg

// Test helpers: single-format entry points the product no longer calls.

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Render writes the group config for a format, validated against that
// format's schema. Output is deterministic for a given input. The
// sectioned schema is the reference template's; RenderReleases holds a
// config to the exact releases it will run against.
func Render(format Format, in Input) ([]byte, error) {
	leg, err := schemaFor(Legacy)
	if err != nil {
		return nil, err
	}
	sec, err := schemaFor(Sectioned)
	if err != nil {
		return nil, err
	}
	out, err := render(format, leg, sec, in, "")
	if err != nil {
		return nil, err
	}
	// Our own output must pass the same check as anyone's.
	if err := Validate(format, out); err != nil {
		return nil, fmt.Errorf("agentcfg: rendered %v config is invalid (a bug): %w", format, err)
	}
	return out, nil
}

// ValidateNode is Validate for an already parsed document or its root.
func ValidateNode(format Format, n *yaml.Node) error {
	s, err := schemaFor(format)
	if err != nil {
		return err
	}
	return validateNode(s, format == Legacy, n)
}

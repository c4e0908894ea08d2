package agentcfg

import "fmt"

// Format is an agent-group-config layout.
type Format int

const (
	// Legacy is DeepFlow v6.5's layout: vtap_group_id and flat keys at
	// the top, dashed keys under static_config.
	Legacy Format = iota + 1
	// Sectioned is the v6.6+ layout: global, inputs, processors, … sections.
	Sectioned
)

func (f Format) String() string {
	switch f {
	case Legacy:
		return "legacy"
	case Sectioned:
		return "sectioned"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads "legacy" or "sectioned".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "legacy":
		return Legacy, nil
	case "sectioned":
		return Sectioned, nil
	}
	return 0, fmt.Errorf("%w: agent-group-config format %q is not one of legacy, sectioned", ErrEnum, s)
}

// MarshalText lets a Format sit in YAML or JSON as its name.
func (f Format) MarshalText() ([]byte, error) {
	if f != Legacy && f != Sectioned {
		return nil, fmt.Errorf("%w: %v", ErrEnum, f)
	}
	return []byte(f.String()), nil
}

// UnmarshalText reads a Format's name.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

package agentcfg

import (
	"errors"
	"strings"
)

// Sentinels, for errors.Is. Every error this package returns about a key
// or a setting is an *Error naming its dotted path and wrapping one of them.
var (
	ErrSyntax          = errors.New("invalid YAML")
	ErrUnknownKey      = errors.New("unknown key")
	ErrDuplicateKey    = errors.New("duplicate key")
	ErrType            = errors.New("wrong type")
	ErrRange           = errors.New("out of range")
	ErrEnum            = errors.New("not an allowed value")
	ErrValue           = errors.New("invalid value")
	ErrRequired        = errors.New("required")
	ErrGroupIDRequired = errors.New("agent group ID required")
)

// Error is one problem at one key path. Line is the 1-based line in the
// validated document, or 0 when the problem is in the settings.
type Error struct {
	Path string
	Line int
	Err  error // one of the sentinels
	Msg  string
	// Releases are the DeepFlow releases the problem is about, when
	// validated per release (ValidateReleases, RenderReleases).
	Releases []string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one document, in document order.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Sentinels an *Error wraps; test them with errors.Is.
var (
	// ErrUnreachable: no HTTP answer at all (connection refused, timeout,
	// DNS, TLS).
	ErrUnreachable = errors.New("deepflow-server is unreachable")
	// ErrNotReady: HTTP 503, the server is still starting.
	ErrNotReady = errors.New("deepflow-server is not ready")
	// ErrRefused: the server answered and said no (4xx/5xx other than
	// 404 and 503, or an OPT_STATUS other than SUCCESS).
	ErrRefused = errors.New("deepflow-server refused the request")
	// ErrNotFound: HTTP 404 (the route does not exist on this server) or
	// OPT_STATUS RESOURCE_NOT_FOUND.
	ErrNotFound = errors.New("not found on deepflow-server")
	// ErrAlreadyExist: RESOURCE_ALREADY_EXIST, also when DeepFlow nests it
	// as JSON inside an INVALID_POST_DATA DESCRIPTION. It comes with
	// ErrRefused.
	ErrAlreadyExist = errors.New("already exists on deepflow-server")
	// ErrBadResponse: the answer was not DeepFlow's JSON envelope.
	ErrBadResponse = errors.New("deepflow-server answered something that is not its JSON envelope")
)

// Error is one failed call.
type Error struct {
	Method string
	// Path is the request path without the base URL.
	Path string
	// HTTPStatus is 0 when no answer came.
	HTTPStatus int
	// OptStatus and Description are DeepFlow's envelope fields; empty
	// when the body was not an envelope (a 404 page, say).
	OptStatus   string
	Description string
	// Kind is the sentinel this error is.
	Kind error
	// Cause is the transport or decoding error, if any.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	switch {
	case e.HTTPStatus == 0 && e.Cause != nil:
		fmt.Fprintf(&b, "%v: %v", e.Kind, e.Cause)
		return b.String()
	case e.HTTPStatus == 0:
		b.WriteString(e.Kind.Error())
		return b.String()
	}
	fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	if e.OptStatus != "" {
		b.WriteString(" " + e.OptStatus)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": DeepFlow said %q", e.Description)
	} else if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	return b.String()
}

// Unwrap exposes the sentinel (and ErrAlreadyExist for duplicates) and
// the cause.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.AlreadyExist() {
		errs = append(errs, ErrAlreadyExist)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// AlreadyExist reports a duplicate. DeepFlow says so either in OPT_STATUS
// or, for a GROUP_ID clash, as JSON inside an INVALID_POST_DATA DESCRIPTION:
// {"Status":"RESOURCE_ALREADY_EXIST","Message":"id(g-…) already exist"}.
func (e *Error) AlreadyExist() bool {
	if e.OptStatus == StatusAlreadyExist {
		return true
	}
	n, ok := parseNested(e.Description)
	return ok && n.Status == StatusAlreadyExist
}

// Message is DESCRIPTION with DeepFlow's nested JSON unwrapped to its
// Message when there is one.
func (e *Error) Message() string {
	if n, ok := parseNested(e.Description); ok && n.Message != "" {
		return n.Message
	}
	return e.Description
}

type nested struct {
	Status  string `json:"Status"`
	Message string `json:"Message"`
}

// parseNested reads a DESCRIPTION that is itself JSON.
func parseNested(desc string) (nested, bool) {
	var n nested
	if !strings.HasPrefix(strings.TrimSpace(desc), "{") || json.Unmarshal([]byte(desc), &n) != nil {
		return nested{}, false
	}
	return n, true
}

// OPT_STATUS values the client looks at.
const (
	StatusSuccess            = "SUCCESS"
	StatusAlreadyExist       = "RESOURCE_ALREADY_EXIST"
	StatusNotFound           = "RESOURCE_NOT_FOUND"
	StatusInvalidPostData    = "INVALID_POST_DATA"
	StatusInvalidParameters  = "INVALID_PARAMETERS"
	StatusServiceUnavailable = "SERVICE_UNAVAILABLE"
	StatusOrgIDInvalid       = "ORG_ID_INVALID"
	StatusFail               = "FAIL"
)

// AsError returns err's *Error, if it has one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

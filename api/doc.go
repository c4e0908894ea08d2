// Package api is a small typed client for deepflow-server's controller
// HTTP API, used the way deepflow-ctl uses it: the same paths, bodies and
// headers (X-User-Id, X-User-Type, X-Org-Id). It never shells out to
// deepflow-ctl.
//
// Every failure is an *Error carrying the HTTP status, DeepFlow's
// OPT_STATUS and DESCRIPTION, and wrapping one of the sentinels
// ErrUnreachable, ErrNotReady, ErrRefused or ErrNotFound (plus
// ErrAlreadyExist for duplicates), so callers test with errors.Is.
//
// Two transient answers are retried, a bounded number of times and never
// past the context: "can not find controller ip" while the server finishes
// starting, and "record not found" on a path naming an LCUUID just read
// (a start-up hazard of the real server: requests that reach the HTTP port
// before its routes are registered can poison later path parameters).
package api

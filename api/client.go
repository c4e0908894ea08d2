package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Headers deepflow-ctl sends (cli/ctl/common/http_util.go).
const (
	HeaderUserID   = "X-User-Id"
	HeaderUserType = "X-User-Type"
	HeaderOrgID    = "X-Org-Id"
)

// DefaultOrg is the org every CE server has; its database is "deepflow".
const DefaultOrg = 1

// Transient DESCRIPTIONs worth retrying.
const (
	transientNoController = "can not find controller ip"
	transientNoRecord     = "record not found"
)

// maxBody bounds what is read from one answer.
const maxBody = 16 << 20

// Client talks to one deepflow-server controller. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	org     int
	retries int
	delay   time.Duration
	writes  atomic.Int64
}

// Option tunes a Client.
type Option func(*Client)

// WithOrg selects the org sent in X-Org-Id (DefaultOrg when not given).
func WithOrg(org int) Option { return func(c *Client) { c.org = org } }

// WithHTTPClient replaces the HTTP client (default: 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetry bounds the retries of transient answers: at most attempts
// tries in all, delay apart (defaults 5 and 2 s).
func WithRetry(attempts int, delay time.Duration) Option {
	return func(c *Client) {
		if attempts < 1 {
			attempts = 1
		}
		c.retries, c.delay = attempts, delay
	}
}

// New returns a client for base, e.g. "http://192.0.2.10:30417"; the
// caller builds it from the topology's node IP and controller port.
func New(base string, opts ...Option) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("api: base URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: base URL %q: want http://HOST:PORT", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}, org: DefaultOrg, retries: 5, delay: 2 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Base is the base URL the client was made with.
func (c *Client) Base() string { return c.base.String() }

// Org is the org the client sends.
func (c *Client) Org() int { return c.org }

// Writes counts the write requests (POST, PUT, PATCH, DELETE) the client
// has sent, answered or not.
func (c *Client) Writes() int { return int(c.writes.Load()) }

type envelope struct {
	OptStatus   string          `json:"OPT_STATUS"`
	Description string          `json:"DESCRIPTION"`
	Data        json.RawMessage `json:"DATA"`
}

// DecodeEnvelope reads DeepFlow's {"OPT_STATUS","DESCRIPTION","DATA"}
// answer. It fails with ErrBadResponse when body is not one.
func DecodeEnvelope(body []byte) (optStatus, description string, data json.RawMessage, err error) {
	var e envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return "", "", nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if e.OptStatus == "" {
		return "", "", nil, fmt.Errorf("%w: no OPT_STATUS", ErrBadResponse)
	}
	return e.OptStatus, e.Description, e.Data, nil
}

type call struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	// retryNoRecord: the path names an LCUUID just read, so "record not
	// found" is the start-up hazard, not an answer.
	retryNoRecord bool
}

// do runs a call with its retries and returns DATA.
func (c *Client) do(ctx context.Context, k call) (json.RawMessage, error) {
	for attempt := 1; ; attempt++ {
		data, err := c.once(ctx, k)
		if err == nil || attempt >= c.tries(k, err) {
			return data, err
		}
		t := time.NewTimer(c.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s %s: giving up after %d tries: %w", k.method, k.path, attempt, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}

// tries is how many tries in all err allows: 1 unless it is one of the
// transient answers.
func (c *Client) tries(k call, err error) int {
	e, ok := AsError(err)
	if !ok || e.HTTPStatus == 0 {
		return 1
	}
	desc := strings.ToLower(e.Description)
	switch {
	case k.retryNoRecord && strings.Contains(desc, transientNoRecord):
		// A missing config also answers "record not found": keep that
		// wait short.
		return min(c.retries, 3)
	case strings.Contains(desc, transientNoController):
		return c.retries
	}
	return 1
}

func (c *Client) once(ctx context.Context, k call) (json.RawMessage, error) {
	u := *c.base
	u.Path += k.path
	if len(k.query) > 0 {
		u.RawQuery = k.query.Encode()
	}
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		return nil, &Error{Method: k.method, Path: k.path, Kind: ErrUnreachable, Cause: err}
	}
	req.Header.Set(HeaderUserID, "1")
	req.Header.Set(HeaderUserType, "1")
	req.Header.Set(HeaderOrgID, strconv.Itoa(c.org))
	req.Header.Set("Accept", "application/json")
	if k.contentType != "" {
		req.Header.Set("Content-Type", k.contentType)
	}
	if k.method != http.MethodGet && k.method != http.MethodHead {
		c.writes.Add(1)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", k.method, k.path, ctx.Err())
		}
		return nil, &Error{Method: k.method, Path: k.path, Kind: ErrUnreachable, Cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &Error{Method: k.method, Path: k.path, HTTPStatus: resp.StatusCode, Kind: ErrUnreachable, Cause: err}
	}
	return answer(k.method, k.path, resp.StatusCode, raw)
}

// answer turns one HTTP answer into DATA or an *Error.
func answer(method, path string, status int, raw []byte) (json.RawMessage, error) {
	opt, desc, data, derr := DecodeEnvelope(raw)
	e := &Error{Method: method, Path: path, HTTPStatus: status, OptStatus: opt, Description: desc}
	switch {
	case status == http.StatusNotFound:
		e.Kind = ErrNotFound
		if derr != nil {
			e.Cause = fmt.Errorf("%s", snippet(raw))
		}
		return nil, e
	case status == http.StatusServiceUnavailable || opt == StatusServiceUnavailable:
		e.Kind = ErrNotReady
		return nil, e
	case derr != nil:
		if status == http.StatusOK {
			e.Kind = ErrBadResponse
		} else {
			e.Kind = ErrRefused
		}
		e.Cause = fmt.Errorf("%w: %s", ErrBadResponse, snippet(raw))
		return nil, e
	case opt == StatusNotFound:
		e.Kind = ErrNotFound
		return nil, e
	case status != http.StatusOK || opt != StatusSuccess:
		e.Kind = ErrRefused
		return nil, e
	}
	return data, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// decodeList decodes DATA into a slice; null means empty.
func decodeList[T any](method, path string, data json.RawMessage) ([]T, error) {
	out, err := decodeOne[[]T](method, path, data)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

func decodeOne[T any](method, path string, data json.RawMessage) (T, error) {
	var out T
	if isNull(data) {
		return out, nil
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, &Error{Method: method, Path: path, HTTPStatus: http.StatusOK, OptStatus: StatusSuccess, Kind: ErrBadResponse, Cause: err}
	}
	return out, nil
}

func isNull(data json.RawMessage) bool {
	s := strings.TrimSpace(string(data))
	return s == "" || s == "null"
}

// Health is what /v1/health/ said.
type Health struct {
	Ready bool `json:"ready"`
	// Stage is the start-up stage from the 503 DESCRIPTION ("" when ready
	// or unparsable).
	Stage string `json:"stage,omitempty"`
	// TimeCost is how long the server says it has been in that stage.
	TimeCost    time.Duration `json:"timeCost,omitempty"`
	Description string        `json:"description,omitempty"`
}

var stageRE = regexp.MustCompile(`(?s)^\s*server is in stage:\s*(.*?)\s+now(?:,\s*time cost:\s*(\S+))?`)

// ParseStage reads "server is in stage: <STAGE> now, time cost: <dur>".
func ParseStage(desc string) (stage string, cost time.Duration, ok bool) {
	m := stageRE.FindStringSubmatch(desc)
	if m == nil || m[1] == "" {
		return "", 0, false
	}
	if m[2] != "" {
		if d, err := time.ParseDuration(m[2]); err == nil && d >= 0 {
			cost = d
		}
	}
	return m[1], cost, true
}

// Health asks /v1/health/. A 503 is not an error: it is Health{Ready:
// false} with the stage. Errors are ErrUnreachable and the unexpected.
func (c *Client) Health(ctx context.Context) (Health, error) {
	_, err := c.once(ctx, call{method: http.MethodGet, path: "/v1/health/"})
	if err == nil {
		return Health{Ready: true}, nil
	}
	e, ok := AsError(err)
	if !ok || !errors.Is(err, ErrNotReady) {
		return Health{}, err
	}
	h := Health{Description: e.Description}
	h.Stage, h.TimeCost, _ = ParseStage(e.Description)
	return h, nil
}

// Domains lists domains, only those named name when it is not "".
func (c *Client) Domains(ctx context.Context, name string) ([]Domain, error) {
	k := call{method: http.MethodGet, path: "/v2/domains/"}
	if name != "" {
		k.query = url.Values{"name": {name}}
	}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	return decodeList[Domain](k.method, k.path, data)
}

// AgentSyncDomain finds the agent_sync domain among all domains, whatever
// its name: DeepFlow allows one per region.
func (c *Client) AgentSyncDomain(ctx context.Context) (Domain, bool, error) {
	all, err := c.Domains(ctx, "")
	if err != nil {
		return Domain{}, false, err
	}
	for _, d := range all {
		if d.Type == DomainTypeAgentSync {
			return d, true, nil
		}
	}
	return Domain{}, false, nil
}

// CreateDomain posts a domain.
func (c *Client) CreateDomain(ctx context.Context, d DomainCreate) (Domain, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return Domain{}, err
	}
	k := call{method: http.MethodPost, path: "/v1/domains/", body: body, contentType: "application/json"}
	data, err := c.do(ctx, k)
	if err != nil {
		return Domain{}, err
	}
	return decodeOne[Domain](k.method, k.path, data)
}

// GroupFilter narrows Groups; empty fields are not sent.
type GroupFilter struct {
	Name      string
	ShortUUID string
}

// Groups lists agent groups.
func (c *Client) Groups(ctx context.Context, f GroupFilter) ([]Group, error) {
	k := call{method: http.MethodGet, path: "/v1/vtap-groups/", query: url.Values{}}
	if f.Name != "" {
		k.query.Set("name", f.Name)
	}
	if f.ShortUUID != "" {
		k.query.Set("short_uuid", f.ShortUUID)
	}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	return decodeList[Group](k.method, k.path, data)
}

// CreateGroup posts an agent group with the caller's g-… ID.
func (c *Client) CreateGroup(ctx context.Context, g GroupCreate) (Group, error) {
	body, err := json.Marshal(g)
	if err != nil {
		return Group{}, err
	}
	k := call{method: http.MethodPost, path: "/v1/vtap-groups/", body: body, contentType: "application/json"}
	data, err := c.do(ctx, k)
	if err != nil {
		return Group{}, err
	}
	return decodeOne[Group](k.method, k.path, data)
}

// ConfigAPI is which group-config API a server has.
type ConfigAPI string

const (
	// ConfigAPINew is /v1/agent-group-configuration/{groupLCUUID}/yaml
	// (v6.6.9+).
	ConfigAPINew ConfigAPI = "agent-group-configuration"
	// ConfigAPILegacy is /v1/vtap-group-configuration/ (up to v6.6.5).
	ConfigAPILegacy ConfigAPI = "vtap-group-configuration"
)

// ProbeConfigAPI finds the group-config API by asking for the v6.6.9+
// template: a 404 means an older server. The version string is never
// consulted.
func (c *Client) ProbeConfigAPI(ctx context.Context) (ConfigAPI, error) {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/agent-group-configuration/template/yaml"})
	switch {
	case err == nil:
		return ConfigAPINew, nil
	case errors.Is(err, ErrNotFound):
		if e, ok := AsError(err); ok && e.HTTPStatus == http.StatusNotFound {
			return ConfigAPILegacy, nil
		}
	}
	return "", err
}

// GroupConfig reads a group's config through the new API. found is false
// when the server holds none: it answers that with an error rather than
// an empty document, so a "not found" that survives the retries is taken
// as no config.
func (c *Client) GroupConfig(ctx context.Context, groupLCUUID string) (yaml []byte, found bool, err error) {
	k := call{method: http.MethodGet, path: "/v1/agent-group-configuration/" + url.PathEscape(groupLCUUID) + "/yaml", retryNoRecord: true}
	data, err := c.do(ctx, k)
	if err != nil {
		if e, ok := AsError(err); ok && e.HTTPStatus != 0 && (errors.Is(err, ErrNotFound) || strings.Contains(strings.ToLower(e.Description), "not found")) {
			return nil, false, nil
		}
		return nil, false, err
	}
	s, err := decodeOne[string](k.method, k.path, data)
	if err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, false, nil
	}
	return []byte(s), true, nil
}

// SetGroupConfig posts a group's config through the new API: a raw YAML
// body, create-or-update on the server.
func (c *Client) SetGroupConfig(ctx context.Context, groupLCUUID string, yaml []byte) error {
	// deepflow-ctl sends this content type; the server reads the raw body.
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/agent-group-configuration/" + url.PathEscape(groupLCUUID) + "/yaml",
		body: yaml, contentType: "application/x-www-form-urlencoded", retryNoRecord: true})
	return err
}

// LegacyGroupConfigs lists the legacy configs of group groupID (g-…).
func (c *Client) LegacyGroupConfigs(ctx context.Context, groupID string) ([]LegacyGroupConfig, error) {
	k := call{method: http.MethodGet, path: "/v1/vtap-group-configuration/", query: url.Values{"vtap_group_id": {groupID}}}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	all, err := decodeList[LegacyGroupConfig](k.method, k.path, data)
	if err != nil {
		return nil, err
	}
	// Filter again: a server that ignores the query returns every group.
	var out []LegacyGroupConfig
	for _, g := range all {
		if g.GroupID == groupID {
			out = append(out, g)
		}
	}
	return out, nil
}

// LegacyGroupConfig reads a group's legacy config as YAML.
func (c *Client) LegacyGroupConfig(ctx context.Context, groupID string) ([]byte, error) {
	k := call{method: http.MethodGet, path: "/v1/vtap-group-configuration/filter/", query: url.Values{"vtap_group_id": {groupID}}}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	s, err := decodeOne[string](k.method, k.path, data)
	return []byte(s), err
}

// FindLegacyGroupConfig reads group groupID's legacy config, when it has
// one: its YAML and the config's own LCUUID, which UpdateLegacyGroupConfig
// takes.
func (c *Client) FindLegacyGroupConfig(ctx context.Context, groupID string) (yaml []byte, configLCUUID string, found bool, err error) {
	cfgs, err := c.LegacyGroupConfigs(ctx, groupID)
	if err != nil || len(cfgs) == 0 {
		return nil, "", false, err
	}
	yaml, err = c.LegacyGroupConfig(ctx, groupID)
	return yaml, cfgs[0].LCUUID, true, err
}

// CreateLegacyGroupConfig posts a legacy config; yaml names its group in
// vtap_group_id.
func (c *Client) CreateLegacyGroupConfig(ctx context.Context, yaml []byte) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/vtap-group-configuration/advanced/", body: yaml, contentType: "application/yaml"})
	return err
}

// UpdateLegacyGroupConfig patches the legacy config configLCUUID.
func (c *Client) UpdateLegacyGroupConfig(ctx context.Context, configLCUUID string, yaml []byte) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/v1/vtap-group-configuration/advanced/" + url.PathEscape(configLCUUID) + "/",
		body: yaml, contentType: "application/yaml", retryNoRecord: true})
	return err
}

// Vtaps lists the registered agents.
func (c *Client) Vtaps(ctx context.Context) ([]Vtap, error) {
	k := call{method: http.MethodGet, path: "/v1/vtaps/"}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	return decodeList[Vtap](k.method, k.path, data)
}

// Vinterfaces lists the interfaces agents reported through genesis sync,
// registered or not.
func (c *Client) Vinterfaces(ctx context.Context) ([]Vinterface, error) {
	k := call{method: http.MethodGet, path: "/v1/sync/vinterface/"}
	data, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	return decodeList[Vinterface](k.method, k.path, data)
}

// Package apitest is a STAND-IN for deepflow-server's controller HTTP API,
// for tests and for the stand-in deepflow-server image. It is not DeepFlow:
// it keeps everything in memory and enforces only the server rules that
// deepflow-compose relies on, as recorded from DeepFlow's source and from a
// real v7.1.8 server:
//
//   - /v1/health/ answers 503 SERVICE_UNAVAILABLE with "server is in stage:
//     … now, time cost: …" until ready, and every other route is a plain
//     404 until then (the real server registers its routes last);
//   - one agent_sync (TYPE 23) domain per region, duplicates refused with
//     HTTP 400 RESOURCE_ALREADY_EXIST;
//   - agent-group IDs must match ^g-[A-Za-z0-9]{10}$ and be unique, names
//     too, with the real server's error shapes;
//   - group configs are validated by a caller-supplied function and refused
//     with "yaml validate failed: …";
//   - the v6.6.9+ group-config API exists only on "new" servers, the legacy
//     one only on "old" ones;
//   - empty lists are DATA: null.
//
// Agents (vtaps) and genesis interfaces are seeded by the test. Every
// write request is recorded, answered or not.
package apitest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/api"
)

// Stages is the real server's start-up order (v7.1; older servers say
// "MySQL migration" and "MySQL init").
var Stages = []string{
	"Election init", "Metadb migration", "Metadb init", "Resource ID manager init", "Redis init",
	"Statsd init", "Genesis init", "TagRecorder init", "Manager init", "Trisolaris init",
	"Prometheus init", "Master function init", "Register routers init",
}

// Options shape one stand-in server.
type Options struct {
	// NotReady is how many health probes answer 503 before the server is
	// ready; negative means never (a server stuck in Stage).
	NotReady int
	// Stage pins the stage shown while not ready; "" walks Stages.
	Stage string
	// StageCost is the "time cost" reported with the stage.
	StageCost time.Duration
	// Legacy makes an "old" (< v6.6.9) server: no
	// /v1/agent-group-configuration/ routes, the legacy
	// /v1/vtap-group-configuration/ API instead.
	Legacy bool
	// ValidateConfig checks a group config posted to the new API; nil
	// accepts any YAML mapping. Its error text follows DeepFlow's
	// "yaml validate failed: ".
	ValidateConfig func(yaml []byte) error
	// ValidateLegacyConfig does the same for the legacy API.
	ValidateLegacyConfig func(yaml []byte) error
	// NoControllerIP makes the first so many domain creations fail with
	// "can not find controller ip", as at start-up.
	NoControllerIP int
	// NoRecord makes the first so many requests on an {LCUUID} path fail
	// with "record not found", the real server's start-up hazard.
	NoRecord int
	// Now stamps CREATED_AT; time.Now when nil.
	Now func() time.Time
	// Ready, when set, decides readiness instead of NotReady (the
	// stand-in image turns ready when its databases answer).
	Ready func() bool
	// StageOf, when set, gives the stage shown while not ready.
	StageOf func() string
	// OnProbe is called on every health probe, under the server's lock.
	OnProbe func()
	// AgentRoute serves POST /v1/vtaps/standin/, a STAND-IN-ONLY route (no
	// DeepFlow server has it) through which the stand-in agent image
	// registers itself, as a real agent would over gRPC.
	AgentRoute bool
	// SyncDomains stamps agent_sync domains SYNCED_AT with the current
	// time on every read, as a server whose genesis sync runs would.
	SyncDomains bool
}

// Request is one request the stand-in received.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	Org    string `json:"org,omitempty"`
	Body   string `json:"body,omitempty"`
	// Status is the HTTP status it was answered with.
	Status int `json:"status"`
}

// State is everything the stand-in stores, as JSON for seeding and for
// keeping it across restarts of the stand-in image.
type State struct {
	Domains       []api.Domain      `json:"domains"`
	Groups        []api.Group       `json:"groups"`
	Configs       map[string]string `json:"configs"`       // group LCUUID → YAML
	LegacyConfigs map[string]string `json:"legacyConfigs"` // group g-ID → YAML
	Vtaps         []api.Vtap        `json:"vtaps"`
	Vinterfaces   []api.Vinterface  `json:"vinterfaces"`
}

// Server is the stand-in. It is an http.Handler; wrap it in
// httptest.NewServer.
type Server struct {
	o        Options
	mu       sync.Mutex
	st       State
	probes   int
	noCtl    int
	noRecord int
	reqs     []Request
	onChange func(State)
}

// New returns a stand-in holding only the built-in "default" group.
func New(o Options) *Server {
	s := &Server{o: o, noCtl: o.NoControllerIP, noRecord: o.NoRecord}
	s.st.Configs = map[string]string{}
	s.st.LegacyConfigs = map[string]string{}
	s.st.Groups = []api.Group{{ID: 1, Name: "default", ShortUUID: "g-" + randAlnum(10), LCUUID: newUUID()}}
	return s
}

// OnChange is called, outside any lock, after every accepted write.
func (s *Server) OnChange(f func(State)) {
	s.mu.Lock()
	s.onChange = f
	s.mu.Unlock()
}

// Restore replaces the stored state.
func (s *Server) Restore(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.Configs == nil {
		st.Configs = map[string]string{}
	}
	if st.LegacyConfigs == nil {
		st.LegacyConfigs = map[string]string{}
	}
	s.st = st
}

// Snapshot copies the stored state.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Server) snapshot() State {
	b, _ := json.Marshal(s.st)
	var st State
	_ = json.Unmarshal(b, &st)
	return st
}

// Requests lists every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Writes lists the write requests (anything but GET and HEAD) received.
func (s *Server) Writes() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w []Request
	for _, r := range s.reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w = append(w, r)
		}
	}
	return w
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// SeedDomain stores a domain as if created earlier.
func (s *Server) SeedDomain(d api.Domain) api.Domain {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.LCUUID == "" {
		d.LCUUID = newUUID()
	}
	if d.ID == "" {
		d.ID = "d-" + randAlnum(10)
	}
	s.st.Domains = append(s.st.Domains, d)
	return d
}

// SeedGroup stores an agent group as if created earlier.
func (s *Server) SeedGroup(name, groupID string) api.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := api.Group{ID: api.Int(len(s.st.Groups) + 1), Name: name, ShortUUID: groupID, LCUUID: newUUID()}
	s.st.Groups = append(s.st.Groups, g)
	return g
}

// SeedGroupConfig stores a group config for the group with that g-ID,
// in the API the server has.
func (s *Server) SeedGroupConfig(groupID, doc string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groupBy(func(g api.Group) bool { return g.ShortUUID == groupID })
	if !ok {
		return fmt.Errorf("apitest: no group %s", groupID)
	}
	if s.o.Legacy {
		s.st.LegacyConfigs[groupID] = doc
	} else {
		s.st.Configs[g.LCUUID] = doc
	}
	return nil
}

// GroupConfig returns the stored config of the group with that g-ID.
func (s *Server) GroupConfig(groupID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.Legacy {
		d, ok := s.st.LegacyConfigs[groupID]
		return d, ok
	}
	g, ok := s.groupBy(func(g api.Group) bool { return g.ShortUUID == groupID })
	if !ok {
		return "", false
	}
	d, ok := s.st.Configs[g.LCUUID]
	return d, ok
}

// SeedVtap stores a registered agent.
func (s *Server) SeedVtap(v api.Vtap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.LCUUID == "" {
		v.LCUUID = newUUID()
	}
	if v.ID == 0 {
		v.ID = api.Int(len(s.st.Vtaps) + 1)
	}
	s.st.Vtaps = append(s.st.Vtaps, v)
}

// SeedVinterface stores an interface reported through genesis sync.
func (s *Server) SeedVinterface(v api.Vinterface) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Vinterfaces = append(s.st.Vinterfaces, v)
}

func (s *Server) groupBy(f func(api.Group) bool) (api.Group, bool) {
	for _, g := range s.st.Groups {
		if f(g) {
			return g, true
		}
	}
	return api.Group{}, false
}

type reply struct {
	status int
	opt    string
	desc   string
	data   any
	plain  string // a non-JSON body, like gin's 404 page
}

func ok(data any) reply { return reply{status: 200, opt: api.StatusSuccess, data: data} }

func fail(status int, opt, format string, a ...any) reply {
	return reply{status: status, opt: opt, desc: fmt.Sprintf(format, a...)}
}

var notFound = reply{status: 404, plain: "404 page not found"}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	s.mu.Lock()
	rep, changed := s.route(r, body)
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Org: r.Header.Get(api.HeaderOrgID), Body: string(body), Status: rep.status})
	var snap State
	hook := s.onChange
	if changed && hook != nil {
		snap = s.snapshot()
	}
	s.mu.Unlock()
	if changed && hook != nil {
		hook(snap)
	}
	if rep.plain != "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.plain)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(struct {
		OptStatus   string `json:"OPT_STATUS"`
		Description string `json:"DESCRIPTION"`
		Data        any    `json:"DATA"`
	}{rep.opt, rep.desc, rep.data})
}

var (
	groupIDRE = regexp.MustCompile(`^g-[A-Za-z0-9]{10}$`)
	agcRE     = regexp.MustCompile(`^/v1/agent-group-configuration/([^/]+)/yaml$`)
	legacyRE  = regexp.MustCompile(`^/v1/vtap-group-configuration/advanced/([^/]+)/$`)
)

func (s *Server) ready() bool {
	if s.o.Ready != nil {
		return s.o.Ready()
	}
	return s.o.NotReady >= 0 && s.probes >= s.o.NotReady
}

// route answers one request; changed says whether the state changed.
func (s *Server) route(r *http.Request, body []byte) (reply, bool) {
	p := r.URL.Path
	if p == "/v1/health/" && r.Method == http.MethodGet {
		if s.o.OnProbe != nil {
			s.o.OnProbe()
		}
		if s.ready() {
			return ok(nil), false
		}
		stage := s.o.Stage
		if s.o.StageOf != nil {
			stage = s.o.StageOf()
		}
		if stage == "" {
			stage = Stages[min(s.probes, len(Stages)-1)]
		}
		s.probes++
		return fail(503, api.StatusServiceUnavailable, "server is in stage: %s now, time cost: %s", stage, s.o.StageCost), false
	}
	if !s.ready() {
		return notFound, false
	}
	if org := r.Header.Get(api.HeaderOrgID); org != "" {
		if _, err := strconv.Atoi(org); err != nil {
			return fail(400, api.StatusOrgIDInvalid, "invalid org id (%s)", org), false
		}
	}
	q := r.URL.Query()
	switch {
	case p == "/v1/vtaps/standin/" && r.Method == http.MethodPost && s.o.AgentRoute:
		return s.registerVtap(body)
	case p == "/v2/domains/" && r.Method == http.MethodGet:
		if s.o.SyncDomains {
			for i := range s.st.Domains {
				if s.st.Domains[i].Type == api.DomainTypeAgentSync {
					s.st.Domains[i].SyncedAt = s.now().Format(time.DateTime)
				}
			}
		}
		return ok(list(filter(s.st.Domains, func(d api.Domain) bool { return q.Get("name") == "" || d.Name == q.Get("name") }))), false
	case p == "/v1/domains/" && r.Method == http.MethodPost:
		return s.createDomain(body)
	case p == "/v1/vtap-groups/" && r.Method == http.MethodGet:
		return ok(list(filter(s.st.Groups, func(g api.Group) bool {
			return (q.Get("name") == "" || g.Name == q.Get("name")) && (q.Get("short_uuid") == "" || g.ShortUUID == q.Get("short_uuid"))
		}))), false
	case p == "/v1/vtap-groups/" && r.Method == http.MethodPost:
		return s.createGroup(body)
	case p == "/v1/vtaps/" && r.Method == http.MethodGet:
		return ok(list(s.st.Vtaps)), false
	case p == "/v1/sync/vinterface/" && r.Method == http.MethodGet:
		return ok(list(vinterfacesJSON(s.st.Vinterfaces))), false
	}
	if s.o.Legacy {
		return s.routeLegacy(r, p, q, body)
	}
	if p == "/v1/agent-group-configuration/template/yaml" && r.Method == http.MethodGet {
		return ok("# stand-in template\nglobal:\n  limits: {}\n"), false
	}
	if m := agcRE.FindStringSubmatch(p); m != nil {
		if s.noRecord > 0 {
			s.noRecord--
			return fail(500, api.StatusFail, "record not found"), false
		}
		return s.groupConfig(r.Method, m[1], body)
	}
	return notFound, false
}

func (s *Server) createDomain(body []byte) (reply, bool) {
	var in struct {
		Name   string         `json:"NAME"`
		Type   *int           `json:"TYPE"`
		Config map[string]any `json:"CONFIG"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(400, api.StatusInvalidPostData, "%s", err), false
	}
	if in.Name == "" || in.Type == nil {
		return fail(400, api.StatusInvalidPostData, "Key: 'DomainCreate.Name' Error:Field validation for 'Name' failed on the 'required' tag"), false
	}
	for _, d := range s.st.Domains {
		if d.Name == in.Name {
			return fail(400, api.StatusAlreadyExist, "domain (%s) already exist", in.Name), false
		}
	}
	cfg := map[string]any{}
	for k, v := range in.Config {
		cfg[k] = v
	}
	region, _ := cfg["region_uuid"].(string)
	if region == "" {
		region = api.DefaultRegion
		cfg["region_uuid"] = region
	}
	if region != api.DefaultRegion {
		return fail(400, api.StatusInvalidPostData, "can not find region (%s)", region), false
	}
	if *in.Type == api.DomainTypeAgentSync {
		for _, d := range s.st.Domains {
			if d.Type == api.DomainTypeAgentSync {
				return fail(400, api.StatusAlreadyExist, "only one agent_sync can exist in the region (%s)", region), false
			}
		}
	}
	if s.noCtl > 0 {
		s.noCtl--
		return fail(500, api.StatusFail, "can not find controller ip"), false
	}
	if _, ok := cfg["controller_ip"]; !ok {
		cfg["controller_ip"] = "127.0.0.1"
	}
	raw, _ := json.Marshal(cfg)
	d := api.Domain{ID: "d-" + randAlnum(10), Name: in.Name, Type: api.Int(*in.Type), Enabled: 1, State: api.DomainStateNormal,
		ControllerIP: cfg["controller_ip"].(string), Config: raw, CreatedAt: s.now().Format(time.DateTime), LCUUID: newUUID()}
	s.st.Domains = append(s.st.Domains, d)
	return ok(d), true
}

// registerVtap is the stand-in agent's registration: NORMAL, a workload
// type, in the group it asks for or, as DeepFlow does with an unknown
// group ID, in the default group. It is keyed by CTRL_IP, so an agent
// registering again updates its row.
func (s *Server) registerVtap(body []byte) (reply, bool) {
	var in struct {
		CtrlIP   string `json:"CTRL_IP"`
		Name     string `json:"NAME"`
		GroupID  string `json:"VTAP_GROUP_ID_REQUEST"`
		Revision string `json:"REVISION"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.CtrlIP == "" {
		return fail(400, api.StatusInvalidPostData, "stand-in registration needs CTRL_IP (%v)", err), false
	}
	g, ok2 := s.groupBy(func(g api.Group) bool { return in.GroupID != "" && g.ShortUUID == in.GroupID })
	if !ok2 {
		g = s.st.Groups[0]
	}
	v := api.Vtap{Name: in.Name, CtrlIP: in.CtrlIP, State: api.AgentNormal, Enable: 1, Type: api.AgentTypeWorkloadP,
		Revision: in.Revision, GroupLCUUID: g.LCUUID, GroupName: g.Name, Exceptions: []api.Int{}}
	if v.Name == "" {
		v.Name = in.CtrlIP + "-stand-in"
	}
	for i, x := range s.st.Vtaps {
		if x.CtrlIP == in.CtrlIP {
			v.ID, v.LCUUID = x.ID, x.LCUUID
			if x.Name == v.Name && x.State == v.State && x.Revision == v.Revision && x.GroupLCUUID == v.GroupLCUUID {
				return ok(v), false
			}
			s.st.Vtaps[i] = v
			return ok(v), true
		}
	}
	v.ID, v.LCUUID = api.Int(len(s.st.Vtaps)+1), newUUID()
	s.st.Vtaps = append(s.st.Vtaps, v)
	return ok(v), true
}

func (s *Server) createGroup(body []byte) (reply, bool) {
	var in api.GroupCreate
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(400, api.StatusInvalidPostData, "%s", err), false
	}
	if in.Name == "" {
		return fail(400, api.StatusInvalidPostData, "Key: 'VtapGroupCreate.Name' Error:Field validation for 'Name' failed on the 'required' tag"), false
	}
	for _, g := range s.st.Groups {
		if g.Name == in.Name {
			return reply{status: 400, opt: api.StatusAlreadyExist, desc: fmt.Sprintf("vtap_group name (%s) already exist", in.Name), data: struct{}{}}, false
		}
	}
	if in.GroupID == "" {
		in.GroupID = "g-" + randAlnum(10)
	} else if !groupIDRE.MatchString(in.GroupID) {
		return fail(400, api.StatusInvalidPostData, "id (%s) invalid, requires g- prefix, number and letter length 10, such as g-1yhIguXABC", in.GroupID), false
	}
	for _, g := range s.st.Groups {
		if g.ShortUUID == in.GroupID {
			nested, _ := json.Marshal(struct{ Status, Message string }{api.StatusAlreadyExist, fmt.Sprintf("id(%s) already exist", in.GroupID)})
			return fail(400, api.StatusInvalidPostData, "%s", nested), false
		}
	}
	g := api.Group{ID: api.Int(len(s.st.Groups) + 1), Name: in.Name, ShortUUID: in.GroupID, LCUUID: newUUID(), UpdatedAt: s.now().Format(time.DateTime)}
	s.st.Groups = append(s.st.Groups, g)
	return ok(g), true
}

func (s *Server) groupConfig(method, lcuuid string, body []byte) (reply, bool) {
	if _, ok := s.groupBy(func(g api.Group) bool { return g.LCUUID == lcuuid }); !ok {
		return fail(500, api.StatusFail, "record not found"), false
	}
	cur, has := s.st.Configs[lcuuid]
	switch method {
	case http.MethodGet:
		if !has {
			// What gorm says for a missing row.
			return fail(500, api.StatusFail, "record not found"), false
		}
		return ok(cur), false
	case http.MethodPost, http.MethodPut:
		if method == http.MethodPut && !has {
			return fail(500, api.StatusFail, "record not found"), false
		}
		if err := validate(body, s.o.ValidateConfig); err != nil {
			return fail(500, api.StatusFail, "yaml validate failed: %s, please check the yaml format", err), false
		}
		s.st.Configs[lcuuid] = string(body)
		if has {
			return ok(string(body)), true
		}
		return ok(""), true
	}
	return notFound, false
}

func (s *Server) routeLegacy(r *http.Request, p string, q url.Values, body []byte) (reply, bool) {
	switch {
	case p == "/v1/vtap-group-configuration/" && r.Method == http.MethodGet:
		var out []api.LegacyGroupConfig
		for _, g := range s.st.Groups {
			if _, ok := s.st.LegacyConfigs[g.ShortUUID]; ok && (q.Get("vtap_group_id") == "" || q.Get("vtap_group_id") == g.ShortUUID) {
				out = append(out, api.LegacyGroupConfig{LCUUID: legacyLCUUID(g), GroupID: g.ShortUUID, GroupName: g.Name})
			}
		}
		return ok(list(out)), false
	case p == "/v1/vtap-group-configuration/filter/" && r.Method == http.MethodGet:
		d, ok2 := s.st.LegacyConfigs[q.Get("vtap_group_id")]
		if !ok2 {
			return fail(500, api.StatusFail, "record not found"), false
		}
		return ok(d), false
	case p == "/v1/vtap-group-configuration/advanced/" && r.Method == http.MethodPost:
		id, rep := s.legacyGroupID(body)
		if id == "" {
			return rep, false
		}
		if _, has := s.st.LegacyConfigs[id]; has {
			return fail(400, api.StatusAlreadyExist, "vtap group(short_uuid=%s) configuration already exist", id), false
		}
		s.st.LegacyConfigs[id] = string(body)
		return ok(nil), true
	case r.Method == http.MethodPatch && legacyRE.MatchString(p):
		lc := legacyRE.FindStringSubmatch(p)[1]
		if s.noRecord > 0 {
			s.noRecord--
			return fail(500, api.StatusFail, "record not found"), false
		}
		for _, g := range s.st.Groups {
			if _, has := s.st.LegacyConfigs[g.ShortUUID]; has && legacyLCUUID(g) == lc {
				id, rep := s.legacyGroupID(body)
				if id == "" {
					return rep, false
				}
				if id != g.ShortUUID {
					return fail(400, api.StatusInvalidPostData, "vtap_group_id (%s) does not match the configuration's group (%s)", id, g.ShortUUID), false
				}
				s.st.LegacyConfigs[id] = string(body)
				return ok(nil), true
			}
		}
		return fail(500, api.StatusFail, "record not found"), false
	}
	return notFound, false
}

// legacyGroupID validates a legacy body and returns its vtap_group_id,
// or "" and the refusal.
func (s *Server) legacyGroupID(body []byte) (string, reply) {
	var doc map[string]any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return "", fail(400, api.StatusInvalidPostData, "%s", err)
	}
	id, _ := doc["vtap_group_id"].(string)
	if id == "" {
		return "", fail(500, api.StatusFail, "vtap_group_id is None")
	}
	if _, ok := s.groupBy(func(g api.Group) bool { return g.ShortUUID == id }); !ok {
		return "", fail(400, api.StatusNotFound, "vtap group(short_uuid=%s) not found", id)
	}
	if err := validate(body, s.o.ValidateLegacyConfig); err != nil {
		return "", fail(500, api.StatusFail, "yaml validate failed: %s", err)
	}
	return id, reply{}
}

// legacyLCUUID is stable per group so PATCH paths stay valid.
func legacyLCUUID(g api.Group) string { return "cfg-" + g.LCUUID }

func validate(body []byte, f func([]byte) error) error {
	var doc any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return err
	}
	if _, ok := doc.(map[string]any); !ok && doc != nil {
		return fmt.Errorf("the configuration is not a mapping")
	}
	if f != nil {
		return f(body)
	}
	return nil
}

func (s *Server) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// list makes an empty list DATA: null, as the real server does.
func list[T any](xs []T) any {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

func filter[T any](xs []T, f func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if f(x) {
			out = append(out, x)
		}
	}
	return out
}

// vinterfacesJSON writes IPS as DeepFlow's comma-separated string.
func vinterfacesJSON(vs []api.Vinterface) []map[string]any {
	var out []map[string]any
	for _, v := range vs {
		ips := append([]string(nil), v.IPs...)
		sort.Strings(ips)
		out = append(out, map[string]any{"NAME": v.Name, "MAC": v.MAC, "IPS": strings.Join(ips, ","), "HOST_IP": v.HostIP,
			"NODE_IP": v.NodeIP, "VTAP_ID": int64(v.VtapID), "DEVICE_NAME": v.DeviceName, "LAST_SEEN": v.LastSeen})
	}
	return out
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// UnknownKeyError is a group-config key the server does not know, worded
// as DeepFlow's agentconf.ValidateYAML words it: a nested key is reported
// through its parents, e.g. for global.common "invalid value for key
// 'global': unexpected key in configuration: common". A ValidateConfig
// function returns it to get the real server's message.
type UnknownKeyError struct {
	// Path is dotted: "global.common".
	Path string
}

func (e UnknownKeyError) Error() string {
	parts := strings.Split(e.Path, ".")
	var b strings.Builder
	for _, p := range parts[:len(parts)-1] {
		fmt.Fprintf(&b, "invalid value for key '%s': ", p)
	}
	b.WriteString("unexpected key in configuration: " + parts[len(parts)-1])
	return b.String()
}

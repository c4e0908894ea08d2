package check

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// secretClaim is one place that states a password. Values are compared,
// never printed.
type secretClaim struct {
	v    layout.Value
	val  string
	what string
	// sha256 holds a hex digest instead of the value (password_sha256_hex).
	sha256 bool
}

func (a secretClaim) same(b secretClaim) bool {
	switch {
	case a.sha256 && b.sha256:
		return strings.EqualFold(a.val, b.val)
	case a.sha256:
		return strings.EqualFold(a.val, hexSHA(b.val))
	case b.sha256:
		return strings.EqualFold(b.val, hexSHA(a.val))
	}
	return a.val == b.val
}

func hexSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// compareSecrets reports consumers that disagree with the truth, or the
// truth alone when at least two consumers agree among themselves on
// another value.
func (m *model) compareSecrets(name string, truth *secretClaim, consumers []secretClaim) {
	if truth == nil {
		return
	}
	if len(consumers) >= 2 {
		all := true
		for _, c := range consumers[1:] {
			if !c.same(consumers[0]) {
				all = false
			}
		}
		if all && !consumers[0].same(*truth) {
			var who []string
			for _, c := range consumers {
				who = append(who, c.what)
			}
			m.errorf(truth.v, "secret-mismatch", fmt.Sprintf("set %s to the password %s use, or change them all together", truth.what, joinAnd(who)),
				"%s (%s) differs from the one %s all use", name, truth.what, joinAnd(who))
			return
		}
	}
	for _, c := range consumers {
		if !c.same(*truth) {
			m.errorf(c.v, "secret-mismatch", fmt.Sprintf("set %s to the same value as %s", c.what, truth.what),
				"%s does not match %s, which comes from %s", c.what, name, truth.what)
		}
	}
}

// truthName says where a compose value comes from: the .env variable it
// interpolates, or the compose key itself.
func truthName(v layout.Value) string {
	if mm := composeVarRE.FindStringSubmatch(v.Raw); mm != nil {
		return mm[1] + " in .env"
	}
	return v.Key
}

var composeVarRE = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

func (m *model) secretRules() {
	m.mysqlSecrets()
	m.clickhouseSecrets()
	m.grafanaSecrets()
}

func usable(s string) bool { return !hasPlaceholder(s) }

func (m *model) mysqlSecrets() {
	d := m.d
	var truth *secretClaim
	if s := m.service(&m.topo.MySQL); s != nil {
		if v, ok := s.Env[topology.Vars.MySQLPassword]; ok && usable(v.Val) {
			truth = &secretClaim{v: v, val: v.Val, what: truthName(v)}
		}
	}
	var cs []secretClaim
	for _, st := range sqlUsers(d.Data[topology.InitSQL]) {
		if st.user == "root" && usable(st.password) {
			cs = append(cs, secretClaim{v: layout.Value{File: topology.InitSQL, Line: st.line}, val: st.password,
				what: fmt.Sprintf("the password of 'root'@'%s' in %s", st.host, topology.InitSQL)})
		}
	}
	if u, ok := d.ServerYAML.Get("controller.mysql.user-name"); !ok || u.Val == "root" {
		if v, ok := d.ServerYAML.Get("controller.mysql.user-password"); ok && usable(v.Val) {
			cs = append(cs, secretClaim{v: v, val: v.Val, what: "controller.mysql.user-password in " + topology.ServerYAML})
		}
	}
	if u, ok := d.GrafanaINI.Get("database", "user"); (!ok || m.grafanaExpand(u) == "root") && m.grafanaUsesMySQL() {
		if v, ok := d.GrafanaINI.Get("database", "password"); ok && m.grafanaResolvable(v, "[database] password") && usable(v.Val) {
			cs = append(cs, secretClaim{v: v, val: m.grafanaExpand(v), what: "[database] password in " + topology.GrafanaINI})
		}
	}
	if g := m.service(&m.topo.Grafana); g != nil {
		if u, ok := g.Env["MYSQL_USER"]; !ok || u.Val == "root" {
			if v, ok := g.Env["MYSQL_PASSWORD"]; ok && usable(v.Val) {
				cs = append(cs, secretClaim{v: v, val: v.Val, what: "Grafana's MYSQL_PASSWORD"})
			}
		}
	}
	m.compareSecrets("MySQL's root password", truth, cs)
	if truth != nil && truth.val == deepflowDefaultPassword {
		m.warnf(truth.v, "default-password", "choose a new root password in one place (deepflow-compose render generates one into .env) and use it everywhere MySQL's password appears",
			"MySQL's root password is DeepFlow's published default; %s can log in as root", m.reach(&m.topo.MySQL, m.mysqlExposed))
	}
}

// DeepFlow's package ships this password for MySQL root and Grafana admin.
const deepflowDefaultPassword = "deepflow"

// grafanaResolvable reports a grafana.ini value that refers to variables
// Grafana's environment lacks, and says whether it can be resolved.
func (m *model) grafanaResolvable(v layout.Value, what string) bool {
	env := m.serviceEnv(&m.topo.Grafana)
	var missing []string
	for _, name := range grafanaRefs(v.Raw) {
		if _, ok := env[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return true
	}
	m.errorf(v, "env-ref", fmt.Sprintf("add %s to services.%s.environment", strings.Join(missing, ", "), m.topo.Grafana.Service),
		"%s refers to %s, which Grafana's container environment does not set, so Grafana reads an empty value", what, strings.Join(missing, ", "))
	return false
}

// xmlPassword reads a ClickHouse <password> element: its text, or the
// variable named by from_env in the ClickHouse container's environment.
func (m *model) xmlPassword(f *layout.XMLFile, p, what string) (secretClaim, bool) {
	parent := f.Find(p)
	if parent == nil {
		return secretClaim{}, false
	}
	for _, name := range []string{"password", "password_sha256_hex"} {
		e := f.Find(p + "/" + name)
		if e == nil {
			continue
		}
		v := f.Value(e, p+"/"+name)
		if ref := e.Attr["from_env"]; ref != "" {
			env := m.serviceEnv(&m.topo.ClickHouse)
			val, ok := env[ref]
			if !ok {
				m.errorf(v, "env-ref", fmt.Sprintf("add %s to services.%s.environment", ref, m.topo.ClickHouse.Service),
					"%s reads from_env %s, which ClickHouse's container environment does not set", what, ref)
				return secretClaim{}, false
			}
			v.Val = val
		}
		return secretClaim{v: v, val: v.Val, what: what, sha256: name == "password_sha256_hex"}, true
	}
	// No password element: ClickHouse takes the user as password-less.
	return secretClaim{v: f.Value(parent, p), val: "", what: what}, true
}

func (m *model) clickhouseSecrets() {
	d := m.d
	var truth *secretClaim
	if c, ok := m.xmlPassword(d.ClickHouseUsers, "users/default", "the default user's password in "+topology.ClickHouseUser); ok {
		truth = &c
	}
	var cs []secretClaim
	for _, k := range []struct{ user, pass string }{
		{"controller.clickhouse.user-name", "controller.clickhouse.user-password"},
		{"ingester.ckdb-auth.username", "ingester.ckdb-auth.password"},
		{"querier.clickhouse.user-name", "querier.clickhouse.user-password"},
	} {
		if u, ok := d.ServerYAML.Get(k.user); ok && u.Val != "default" {
			continue
		}
		if v, ok := d.ServerYAML.Get(k.pass); ok && usable(v.Val) {
			cs = append(cs, secretClaim{v: v, val: v.Val, what: k.pass + " in " + topology.ServerYAML})
		}
	}
	const replica = "remote_servers/df_cluster/shard/replica"
	if e := d.ClickHouseConf.Find(replica); e != nil {
		if u := d.ClickHouseConf.Find(replica + "/user"); u == nil || u.Text == "default" {
			if c, ok := m.xmlPassword(d.ClickHouseConf, replica, "the df_cluster replica's password in "+topology.ClickHouseConf); ok {
				cs = append(cs, c)
			}
		}
	}
	if g := m.service(&m.topo.Grafana); g != nil {
		if u, ok := g.Env["CLICKHOUSE_USER"]; !ok || u.Val == "default" {
			if v, ok := g.Env["CLICKHOUSE_PASSWORD"]; ok && usable(v.Val) {
				cs = append(cs, secretClaim{v: v, val: v.Val, what: "Grafana's CLICKHOUSE_PASSWORD"})
			}
		}
	}
	m.compareSecrets("ClickHouse's default-user password", truth, cs)
	if truth != nil && !truth.sha256 && truth.val == "" {
		m.warnf(truth.v, "exposed-datastore", "give the default user a password (deepflow-compose render sets <password from_env=\"CLICKHOUSE_DEFAULT_PASSWORD\"/>) and the same one in server.yaml and Grafana's CLICKHOUSE_PASSWORD",
			"ClickHouse's default user has no password; %s can read and drop every table", m.reach(&m.topo.ClickHouse, m.chExposed))
	}
}

func (m *model) grafanaSecrets() {
	g := m.service(&m.topo.Grafana)
	if g == nil {
		return
	}
	who := "anyone who can reach Grafana"
	if m.nodeIP != "" {
		who = fmt.Sprintf("anyone who can reach http://%s:%d", m.nodeIP, m.grafanaHostPort)
	}
	fix := "set GF_SECURITY_ADMIN_PASSWORD from a secret in .env (deepflow-compose render generates one)"
	v, ok := g.Env["GF_SECURITY_ADMIN_PASSWORD"]
	if !ok {
		if iv, iok := m.d.GrafanaINI.Get("security", "admin_password"); iok && m.grafanaExpand(iv) != "admin" && m.grafanaExpand(iv) != deepflowDefaultPassword {
			return
		}
		m.warnf(at(m.d.Compose.File, g.Line), "default-password", fix,
			"Grafana's admin password is not set, so it is Grafana's default admin/admin; %s can log in as admin", who)
		return
	}
	if v.Val == deepflowDefaultPassword || v.Val == "admin" {
		m.warnf(v, "default-password", fix, "Grafana's admin password is a published default; %s can log in as admin", who)
	}
}

// sqlUser is one CREATE/ALTER USER … BY '…' statement.
type sqlUser struct {
	user, host, password string
	line                 int
}

var (
	sqlUserRE = regexp.MustCompile(`(?is)\b(?:ALTER|CREATE)\s+USER\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?'([^']*)'@'([^']*)'([^;]*)`)
	sqlByRE   = regexp.MustCompile(`(?is)\bBY\s+'((?:[^'\\]|\\.|'')*)'`)
)

func sqlUsers(data []byte) []sqlUser {
	s := string(data)
	var out []sqlUser
	for _, idx := range sqlUserRE.FindAllStringSubmatchIndex(s, -1) {
		rest := s[idx[6]:idx[7]]
		by := sqlByRE.FindStringSubmatch(rest)
		if by == nil {
			continue
		}
		pw := strings.NewReplacer(`''`, `'`, `\'`, `'`, `\\`, `\`).Replace(by[1])
		out = append(out, sqlUser{user: s[idx[2]:idx[3]], host: s[idx[4]:idx[5]], password: pw,
			line: strings.Count(s[:idx[0]], "\n") + 1})
	}
	return out
}

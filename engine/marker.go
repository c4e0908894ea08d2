package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Errors of the data dir's ownership.
var (
	// ErrPurge: down --purge refused to delete data this stack did not create.
	ErrPurge = errors.New("purge refused")
	// ErrPasswordChanged: a datastore password changed while the data it
	// was created with exists.
	ErrPasswordChanged = errors.New("password changed over existing data")
)

// marker is what the data dir's marker file records: which stack created
// which of its directories, and a salted hash of each password the data was
// created with (never the password itself). The first up writes it before
// any container starts; down --purge deletes only what it lists.
type marker struct {
	Project string `json:"project"`
	Dir     string `json:"dir"`
	Version string `json:"version"`
	// Created lists the data directories, relative to the data dir, that
	// did not exist or were empty when this stack first used them.
	Created []string `json:"created"`
	Salt    string   `json:"salt"`
	// Passwords maps a secret's .env variable to its salted SHA-256.
	Passwords map[string]string `json:"passwords"`

	// legacy: a plain "version project" line from an older release, which
	// recorded no directories.
	legacy bool
}

// readMarker returns nil when there is no marker.
func readMarker(dataDir string) (*marker, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, markerName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m marker
	if json.Unmarshal(b, &m) == nil && m.Project != "" {
		return &m, nil
	}
	v, p, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	return &marker{Version: v, Project: p, legacy: true}, nil
}

// of reports whether m is a record this stack's first up wrote; nil, a
// legacy line or another project's record is not.
func (m *marker) of(s *Stack) bool {
	return m != nil && !m.legacy && m.Project == s.Project
}

func (m *marker) write(dataDir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, markerName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, markerName))
}

func (m *marker) hash(name, secret string) string {
	h := sha256.Sum256([]byte(m.Salt + "\x00" + name + "\x00" + secret))
	return hex.EncodeToString(h[:])
}

// hasData reports whether a directory exists and holds anything.
func hasData(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// dataRel lists the stack's data directories relative to its data dir.
func dataRel(s *Stack, dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if rel, err := filepath.Rel(s.DataDir, d); err == nil {
			out = append(out, rel)
		}
	}
	return out
}

// secretsCreatingData are the passwords a datastore takes only when it
// creates its data: MySQL's users, and Grafana's admin, whose database is
// in MySQL. ClickHouse is not among them: its users.xml reads the password
// from the environment at every start.
func secretsCreatingData(s *Stack) []struct{ Var, Value string } {
	v := topology.Vars
	return []struct{ Var, Value string }{
		{v.MySQLPassword, s.secrets.MySQL},
		{v.GrafanaPass, s.secrets.Grafana},
	}
}

// claimData records, before compose creates anything, which data
// directories this stack creates and the passwords their data gets. A
// marker of this project is updated; any other is replaced by one that
// claims only what is still to be created.
func claimData(s *Stack, dirs []string, accept bool) error {
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return err
	}
	old, err := readMarker(s.DataDir)
	if err != nil {
		return err
	}
	m := old
	if !m.of(s) {
		m = &marker{}
	}
	m.Project, m.Dir, m.Version = s.Project, s.Dir, s.Version
	if m.Salt == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		m.Salt = hex.EncodeToString(b[:])
		m.Passwords = nil
	}
	if m.Passwords == nil {
		m.Passwords = map[string]string{}
	}
	for _, rel := range dataRel(s, dirs) {
		if !slices.Contains(m.Created, rel) && !hasData(filepath.Join(s.DataDir, rel)) {
			m.Created = append(m.Created, rel)
		}
	}
	sort.Strings(m.Created)
	fresh := !hasData(filepath.Join(s.DataDir, "mysql"))
	for _, sec := range secretsCreatingData(s) {
		if _, known := m.Passwords[sec.Var]; fresh || accept || !known && slices.Contains(m.Created, "mysql") {
			m.Passwords[sec.Var] = m.hash(sec.Var, sec.Value)
		}
	}
	return m.write(s.DataDir)
}

// checkPasswords compares the passwords in .env with those the existing
// data was created with. A change fails unless accept is set: MySQL and
// Grafana keep the passwords they were created with, so the server and
// Grafana would fail to log in.
func checkPasswords(s *Stack, accept bool) Check {
	c := Check{Name: "passwords"}
	mysqlDir := filepath.Join(s.DataDir, "mysql")
	if !hasData(mysqlDir) {
		c.Level, c.Msg = OK, "no existing data: the passwords in .env create it"
		return c
	}
	m, err := readMarker(s.DataDir)
	if err != nil || !m.of(s) || len(m.Passwords) == 0 {
		c.Level, c.Msg = Warn, fmt.Sprintf("cannot tell which passwords the data in %s was created with (no record of this stack's); if the server cannot log in to MySQL, the data keeps another password", mysqlDir)
		return c
	}
	var changed []string
	for _, sec := range secretsCreatingData(s) {
		if h, ok := m.Passwords[sec.Var]; ok && h != m.hash(sec.Var, sec.Value) {
			changed = append(changed, sec.Var)
		}
	}
	if len(changed) == 0 {
		c.Level, c.Msg = OK, "the passwords in .env are those the existing data was created with"
		return c
	}
	c.Msg = passwordChangeHelp(s, changed)
	if accept {
		c.Level, c.Msg = Warn, "accepted (--accept-password-change): "+c.Msg
		return c
	}
	c.Level = Fail
	return c
}

func passwordChangeHelp(s *Stack, changed []string) string {
	v := topology.Vars
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s changed since the data in %s was created, and the data keeps the old one", strings.Join(changed, " and "), s.EnvFile, s.DataDir)
	if slices.Contains(changed, v.MySQLPassword) {
		fmt.Fprintf(&b, "; MySQL reads its password only when it creates its data, so deepflow-server and Grafana would fail to log in. "+
			"Change it inside MySQL (with the MySQL container running: `docker start %s` if the stack is down), entering the old password when asked and with NEW the value of %s in .env: "+
			"docker exec -it %s mysql -uroot -p -e \"ALTER USER 'root'@'%%' IDENTIFIED BY 'NEW'; ALTER USER 'root'@'localhost' IDENTIFIED BY 'NEW'; ALTER USER 'grafana'@'%%' IDENTIFIED BY 'NEW';\"",
			s.Topology.MySQL.Container, v.MySQLPassword, s.Topology.MySQL.Container)
	}
	if slices.Contains(changed, v.GrafanaPass) {
		fmt.Fprintf(&b, "; Grafana sets its admin password only when it creates its database, so the one in .env would not log in: once the stack is up, run docker exec %s grafana cli admin reset-admin-password NEW (NEW the value of %s in .env)",
			s.Topology.Grafana.Container, v.GrafanaPass)
	}
	b.WriteString(". Or render again with the old password. Then run up with --accept-password-change to record the new password and go on")
	return b.String()
}

// systemDir reports whether dir is one a data dir must never be: purging
// it, or mounting its mysql/ subdirectory, would hit the host's own files.
func systemDir(dir string) bool {
	d := filepath.Clean(dir)
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	sys := []string{"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
		"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local",
		"/usr/local/bin", "/usr/sbin", "/usr/share", "/var", "/var/lib", "/var/log", "/var/tmp", "/var/run", "/var/cache",
		"/var/lib/docker", "/var/lib/mysql", "/var/lib/clickhouse", "/var/lib/grafana"}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		sys = append(sys, filepath.Clean(home))
	}
	return slices.Contains(sys, d)
}

// systemDirError words the refusal of a system directory as data dir.
func systemDirError(s *Stack) string {
	return fmt.Sprintf("dataDir %s is a system directory (or the home directory); the stack would mount and could purge the host's own files there. Render again with a directory of its own, e.g. --set dataDir=/var/lib/deepflow-compose/%s", s.DataDir, s.Project)
}

package dbver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// DefaultDatabase is DeepFlow's own database; every further organisation
// has one named like 0002_deepflow.
const DefaultDatabase = "deepflow"

var orgDatabase = regexp.MustCompile(`^[0-9]+_deepflow$`)

// IsDeepFlowDatabase reports whether name is one of DeepFlow's MySQL
// databases: deepflow, or an organisation's NNNN_deepflow.
func IsDeepFlowDatabase(name string) bool {
	return name == DefaultDatabase || orgDatabase.MatchString(name)
}

// MySQL reaches the MySQL server of a running stack through its container:
// every statement runs in the container's own mysql client, so nothing
// needs a published port, and the password travels in the exec's
// environment (MYSQL_PWD, which MySQL 8.0 deprecates but its clients still
// honour, as MariaDB's do), never on a command line.
type MySQL struct {
	API client.APIClient
	// Container is the MySQL container's name or ID.
	Container string
	// Host and Port are what the client dials inside the container: the
	// loopback address and the port my.cnf gives the server, from the
	// topology. A zero Port leaves it to the client's own configuration.
	Host string
	Port int
	// User and Password log in; root and the rendered MYSQL_ROOT_PASSWORD.
	User     string
	Password string
}

func (m *MySQL) connArgs() []string {
	// utf8mb4 whatever my.cnf's [client] says (the rendered one says
	// utf8, three bytes at most): a dump or restore through it would mangle
	// four-byte characters.
	args := []string{"--protocol=TCP", "--default-character-set=utf8mb4", "-h", m.host(), "-u", m.User}
	if m.Port != 0 {
		args = append(args, "-P", strconv.Itoa(m.Port))
	}
	return args
}

func (m *MySQL) host() string {
	if m.Host == "" {
		return "127.0.0.1"
	}
	return m.Host
}

// exec runs cmd in the container with the password in its environment,
// feeding stdin when given and streaming stdout to out. A non-zero exit
// becomes ErrExec with the command's stderr.
func exec(ctx context.Context, api client.APIClient, container string, env, cmd []string, stdin io.Reader, out io.Writer) error {
	cr, err := api.ExecCreate(ctx, container, client.ExecCreateOptions{
		Cmd:          cmd,
		Env:          env,
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return fmt.Errorf("%w: %s in %s: %w", ErrExec, cmd[0], container, err)
	}
	att, err := api.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("%w: %s in %s: %w", ErrExec, cmd[0], container, err)
	}
	defer att.Close()
	inErr := make(chan error, 1)
	if stdin != nil {
		go func() {
			_, err := io.Copy(att.Conn, stdin)
			if cerr := att.CloseWrite(); err == nil {
				err = cerr
			}
			inErr <- err
		}()
	} else {
		inErr <- nil
	}
	var stderr bytes.Buffer
	if out == nil {
		out = io.Discard
	}
	_, outErr := stdcopy.StdCopy(out, &stderr, att.Reader)
	// The output ends when the command does; a command that stopped
	// reading its input early must not leave the feeder blocked.
	att.Close()
	feedErr := <-inErr
	// The exit code is recorded a moment after the output ends.
	var ins client.ExecInspectResult
	for i := 0; ; i++ {
		var err error
		if ins, err = api.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{}); err != nil {
			return fmt.Errorf("%w: %s in %s: %w", ErrExec, cmd[0], container, err)
		}
		if !ins.Running || i == 100 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s in %s: %w", ErrExec, cmd[0], container, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if ins.Running {
		return fmt.Errorf("%w: %s in %s still runs after its output ended", ErrExec, cmd[0], container)
	}
	// The command's own failure says more than a broken pipe does.
	if ins.ExitCode != 0 {
		return fmt.Errorf("%w: %s in %s exited %d: %s", ErrExec, cmd[0], container, ins.ExitCode, firstLines(stderr.String(), 5))
	}
	if outErr != nil {
		return fmt.Errorf("%w: %s in %s: reading its output: %w", ErrExec, cmd[0], container, outErr)
	}
	if feedErr != nil {
		return fmt.Errorf("%w: %s in %s: feeding its input: %w", ErrExec, cmd[0], container, feedErr)
	}
	return nil
}

// firstLines keeps a command's error lines (the client's ERROR …, or the
// tool's own "mysqldump: …"), else its first lines, up to n.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "mysqldump:") || strings.HasPrefix(l, "mariadb-dump:") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		lines = errs
	}
	var keep []string
	for _, l := range lines {
		// The client's warning about passwords is noise here.
		if strings.Contains(l, "Using a password on the command line interface can be insecure") || strings.TrimSpace(l) == "" {
			continue
		}
		keep = append(keep, strings.TrimSpace(l))
		if len(keep) == n {
			break
		}
	}
	return strings.Join(keep, "; ")
}

func (m *MySQL) env() []string { return []string{"MYSQL_PWD=" + m.Password} }

// Exec runs the mysql client in the container with extra arguments, stdin
// and stdout.
func (m *MySQL) Exec(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	cmd := append([]string{"mysql"}, m.connArgs()...)
	return exec(ctx, m.API, m.Container, m.env(), append(cmd, args...), stdin, stdout)
}

// Query runs one SQL text and returns its rows, each a list of columns,
// NULL as "NULL". The text goes to the client on its standard input, so it
// is never parsed by a shell.
func (m *MySQL) Query(ctx context.Context, sql string) ([][]string, error) {
	var out bytes.Buffer
	if err := m.Exec(ctx, []string{"--batch", "--skip-column-names"}, strings.NewReader(sql), &out); err != nil {
		return nil, err
	}
	return parseBatch(out.String()), nil
}

// parseBatch reads the client's --batch output, and ClickHouse's
// TabSeparated: tab-separated, with \t, \n, \\ and \0 (and ClickHouse's
// few more, see unescape) escaped in values.
func parseBatch(s string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" && s == "" {
			break
		}
		var row []string
		for _, f := range strings.Split(line, "\t") {
			row = append(row, unescape(f))
		}
		rows = append(rows, row)
	}
	return rows
}

// Ping runs SELECT 1.
func (m *MySQL) Ping(ctx context.Context) error {
	rows, err := m.Query(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] != "1" {
		return fmt.Errorf("%w: SELECT 1 in %s answered %q", ErrExec, m.Container, rows)
	}
	return nil
}

// Databases lists every database on the server.
func (m *MySQL) Databases(ctx context.Context) ([]string, error) {
	rows, err := m.Query(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r[0])
	}
	sort.Strings(out)
	return out, nil
}

// DeepFlowDatabases lists DeepFlow's databases on the server: deepflow
// first, then the organisations' in name order.
func (m *MySQL) DeepFlowDatabases(ctx context.Context) ([]string, error) {
	all, err := m.Databases(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range all {
		if d == DefaultDatabase {
			out = append([]string{d}, out...)
		} else if IsDeepFlowDatabase(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// DBVersion is one database's db_version.
type DBVersion struct {
	Database string
	// Version is the row in db_version; empty with Err when there is none.
	Version string
	// Err is ErrEmptyVersion or ErrNoVersionTable (wrapped) when the
	// version cannot be read from a table that is not there or is empty.
	Err error
}

// ReadVersion reads db_version of one database.
func (m *MySQL) ReadVersion(ctx context.Context, database string) DBVersion {
	v := DBVersion{Database: database}
	rows, err := m.Query(ctx, "SELECT version FROM "+quoteID(database)+".db_version")
	switch {
	case err != nil && strings.Contains(err.Error(), "ERROR 1146"):
		v.Err = fmt.Errorf("%w in database %s: the server would create its tables afresh", ErrNoVersionTable, database)
	case err != nil:
		v.Err = err
	case len(rows) == 0:
		v.Err = fmt.Errorf("%w in database %s", ErrEmptyVersion, database)
	case len(rows) > 1:
		var vs []string
		for _, r := range rows {
			vs = append(vs, r[0])
		}
		v.Err = fmt.Errorf("%w: database %s has %d rows in db_version (%s)", ErrUnknownVersion, database, len(rows), strings.Join(vs, ", "))
	default:
		v.Version = strings.TrimSpace(rows[0][0])
		if v.Version == "" {
			v.Err = fmt.Errorf("%w in database %s (one blank row)", ErrEmptyVersion, database)
		}
	}
	return v
}

// Versions reads db_version of every DeepFlow database on the server. An
// error is returned only when the server cannot be asked at all; each
// database's own trouble is in its DBVersion.Err.
func (m *MySQL) Versions(ctx context.Context) ([]DBVersion, error) {
	dbs, err := m.DeepFlowDatabases(ctx)
	if err != nil {
		return nil, err
	}
	if len(dbs) == 0 {
		return nil, fmt.Errorf("%w: no DeepFlow database (%s or NNNN_%s) on the MySQL server in %s", ErrNoVersionTable, DefaultDatabase, DefaultDatabase, m.Container)
	}
	out := make([]DBVersion, 0, len(dbs))
	for _, d := range dbs {
		out = append(out, m.ReadVersion(ctx, d))
	}
	return out, nil
}

// quoteID back-quotes a MySQL identifier.
func quoteID(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// quoteString single-quotes a MySQL string literal (backslash escapes on,
// the server's default).
func quoteString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, `'`, `\'`) + "'"
}

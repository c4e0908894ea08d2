package dbver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/catalog"
)

// ClickHouseDatabases are the databases whose tables carry DeepFlow's
// ClickHouse version (the comment on column time).
var ClickHouseDatabases = []string{"flow_log", "flow_metrics"}

// ClickHouse asks a ClickHouse server over its HTTP interface.
type ClickHouse struct {
	// URL is the HTTP interface's base, e.g. http://127.0.0.1:8123.
	URL      string
	User     string
	Password string
	// HTTP is the client to use; http.DefaultClient when nil.
	HTTP *http.Client
}

// TableVersion is the version one ClickHouse table carries.
type TableVersion struct {
	Database, Table, Version string
}

// Query runs one query and returns its TabSeparated rows.
func (c *ClickHouse) Query(ctx context.Context, sql string) ([][]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/", strings.NewReader(sql))
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", c.URL, err)
	}
	// Headers, not the URL, so the password stays out of logs and proxies.
	req.Header.Set("X-ClickHouse-User", c.User)
	req.Header.Set("X-ClickHouse-Key", c.Password)
	req.Header.Set("X-ClickHouse-Format", "TabSeparated")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", c.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", c.URL, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("clickhouse %s: HTTP %d: %s", c.URL, res.StatusCode, firstLines(string(body), 1))
	}
	return parseBatch(string(body)), nil
}

// unescape undoes the backslash escaping of tab-separated output: the
// mysql client's batch mode (\t \n \0 \\) and ClickHouse's TabSeparated,
// which adds \r \b \f and \'.
func unescape(f string) string {
	if !strings.Contains(f, `\`) {
		return f
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] == '\\' && i+1 < len(f) {
			i++
			switch f[i] {
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			default:
				b.WriteByte(f[i])
			}
			continue
		}
		b.WriteByte(f[i])
	}
	return b.String()
}

// TableVersionsQuery is the query TableVersions sends.
func TableVersionsQuery(databases []string) string {
	q := make([]string, len(databases))
	for i, d := range databases {
		q[i] = quoteString(d)
	}
	return "SELECT database, table, comment FROM system.columns WHERE name = 'time' AND database IN (" +
		strings.Join(q, ", ") + ") ORDER BY database, table FORMAT TabSeparated"
}

// TableVersions reads the version of every table in the databases
// (ClickHouseDatabases when nil): the comment on its column time, as
// DeepFlow's ingester writes it.
func (c *ClickHouse) TableVersions(ctx context.Context, databases []string) ([]TableVersion, error) {
	if databases == nil {
		databases = ClickHouseDatabases
	}
	rows, err := c.Query(ctx, TableVersionsQuery(databases))
	if err != nil {
		return nil, fmt.Errorf("reading table versions: %w", err)
	}
	out := make([]TableVersion, 0, len(rows))
	for _, r := range rows {
		if len(r) != 3 {
			return nil, fmt.Errorf("reading table versions from %s: %w: row %q", c.URL, ErrUnknownVersion, r)
		}
		out = append(out, TableVersion{Database: r[0], Table: r[1], Version: r[2]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Database != out[j].Database {
			return out[i].Database < out[j].Database
		}
		return out[i].Table < out[j].Table
	})
	return out, nil
}

// CheckClickHouse compares every table's version with want by equality,
// as DeepFlow's ingester does (its versions are not ordered), and names the
// tables that differ. No table at all is an error too: DeepFlow's ingester
// creates its tables when it starts, so there is nothing to vouch for yet.
func CheckClickHouse(tables []TableVersion, want string) error {
	return checkTables(tables, want, func(v string) bool { return v == want })
}

// CheckClickHouseIn is CheckClickHouse for a release line whose moving tag
// may pull several releases: every table's version must lie in r.
func CheckClickHouseIn(tables []TableVersion, r catalog.Range) error {
	return checkTables(tables, r.String(), r.Contains)
}

func checkTables(tables []TableVersion, want string, ok func(string) bool) error {
	if len(tables) == 0 {
		return fmt.Errorf("%w: want %s, but no table carries a version yet (has deepflow-server's ingester started?)", ErrTableVersion, want)
	}
	var bad []string
	for _, t := range tables {
		if !ok(t.Version) {
			v := t.Version
			if v == "" {
				v = "no version"
			}
			bad = append(bad, fmt.Sprintf("%s.%s (%s)", t.Database, t.Table, v))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: want %s, but %d of %d tables differ: %s", ErrTableVersion, want, len(bad), len(tables), strings.Join(bad, ", "))
}

package standin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestClickHouseCGI runs the ClickHouse stand-in's query CGI under busybox
// as httpd would (request in the environment and on stdin) and checks its
// answers to the version query, a wrong password and a foreign query.
func TestClickHouseCGI(t *testing.T) {
	needBusybox(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "head", "tr", "sed", "awk", "sort", "cat", "printf", "httpd"} {
		if err := os.Symlink(DefaultBusybox, filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	cgi, err := rootfs.ReadFile("rootfs/clickhouse.cgi")
	if err != nil {
		t.Fatal(err)
	}
	cgiPath := filepath.Join(dir, "index.cgi")
	if err := os.WriteFile(cgiPath, cgi, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := "flow_metrics\tnetwork.1m\tv7.1.7.3\nflow_log\tl7_flow_log\tv7.0.5.0\nevent\tevent\tv7.1.7.3\nflow_log\tl4_flow_log\tv7.1.7.3"
	run := func(body, query, key string) string {
		t.Helper()
		cmd := exec.Command(DefaultBusybox, "sh", cgiPath)
		cmd.Env = []string{
			"PATH=" + bin,
			"CONTENT_LENGTH=" + strconv.Itoa(len(body)),
			"QUERY_STRING=" + query,
			"HTTP_X_CLICKHOUSE_USER=default",
			"HTTP_X_CLICKHOUSE_KEY=" + key,
			"CLICKHOUSE_DEFAULT_PASSWORD=p'w \"$x\\",
			"STANDIN_CLICKHOUSE_COLUMNS=" + seed,
		}
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cgi: %v: %s", err, out)
		}
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}
	const pw = "p'w \"$x\\"
	q := "SELECT database, table, comment FROM system.columns WHERE name = 'time' AND database IN ('flow_log', 'flow_metrics') ORDER BY database, table FORMAT TabSeparated"
	want := "Content-Type: text/tab-separated-values\n\nflow_log\tl4_flow_log\tv7.1.7.3\nflow_log\tl7_flow_log\tv7.0.5.0\nflow_metrics\tnetwork.1m\tv7.1.7.3\n"
	if got := run(q, "", pw); got != want {
		t.Errorf("version query:\n%q\nwant\n%q", got, want)
	}
	// The same query in the URL, spread over lines, as a client may send it.
	if got := run("", "database=x&query="+strings.ReplaceAll(strings.ReplaceAll(q, " ", "%20"), "'", "%27"), pw); got != want {
		t.Errorf("version query in the URL:\n%q\nwant\n%q", got, want)
	}
	if got := run(strings.ReplaceAll(q, " WHERE", "\n  WHERE"), "", pw); got != want {
		t.Errorf("version query over lines:\n%q", got)
	}
	if got := run(q, "", "wrong"); !strings.HasPrefix(got, "Status: 516 Unauthorized\n") || !strings.Contains(got, "Code: 516.") {
		t.Errorf("wrong password: %q", got)
	}
	if got := run("SELECT 1", "", pw); !strings.HasSuffix(got, "\n\n1\n") {
		t.Errorf("SELECT 1: %q", got)
	}
	if got := run("DROP TABLE flow_log.l4_flow_log", "", pw); !strings.HasPrefix(got, "Status: 400 Bad Request\n") {
		t.Errorf("a foreign query: %q", got)
	}
	if got := run("", "", ""); !strings.HasSuffix(got, "\n\nOk.\n") {
		t.Errorf("no query: %q", got)
	}
}

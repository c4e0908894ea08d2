package dbver

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deepflow-compose/deepflow-compose/topology"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// dumpTrailer starts the last line mysqldump writes when it finished.
const dumpTrailer = "-- Dump completed"

// ScratchLabel marks the throwaway containers VerifyDump loads a dump into.
const ScratchLabel = "io.deepflow-compose.dump-verify"

// BackupDatabases lists what a backup dumps: every DeepFlow database and,
// when it exists, Grafana's (the container's MYSQL_DATABASE).
func (m *MySQL) BackupDatabases(ctx context.Context) ([]string, error) {
	dbs, err := m.DeepFlowDatabases(ctx)
	if err != nil {
		return nil, err
	}
	ins, err := m.API.ContainerInspect(ctx, m.Container, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", m.Container, err)
	}
	grafana := ""
	if c := ins.Container.Config; c != nil {
		for _, e := range c.Env {
			if v, ok := strings.CutPrefix(e, "MYSQL_DATABASE="); ok {
				grafana = v
			}
		}
	}
	if grafana != "" && !IsDeepFlowDatabase(grafana) {
		all, err := m.Databases(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range all {
			if d == grafana {
				dbs = append(dbs, d)
			}
		}
	}
	return dbs, nil
}

// Dump writes one consistent dump of the databases (a single transaction
// across all of them) to path, a new file of mode 0600, streamed from
// mysqldump in the container. The dump drops and recreates each database
// when loaded, so a restore brings back exactly what was dumped. A failed
// or incomplete dump leaves no file behind.
func (m *MySQL) Dump(ctx context.Context, path string, databases []string) (err error) {
	if len(databases) == 0 {
		return fmt.Errorf("dump %s: no databases given", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("dump %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	cmd := append([]string{"mysqldump"}, m.connArgs()...)
	cmd = append(cmd,
		"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
		"--no-tablespaces", "--add-drop-database", "--databases")
	cmd = append(cmd, databases...)
	w := bufio.NewWriterSize(f, 1<<20)
	if err := exec(ctx, m.API, m.Container, m.env(), cmd, nil, w); err != nil {
		return fmt.Errorf("dump %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("dump %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dump %s: %w", path, err)
	}
	return CheckComplete(path)
}

// CheckComplete makes sure the dump ends with mysqldump's closing line,
// which it writes only once every database is out.
func CheckComplete(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	const tail = 4096
	off := st.Size() - tail
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, dumpTrailer) {
		return fmt.Errorf("%s: %w: its last line is %q, not mysqldump's %q", path, ErrDumpIncomplete, last, dumpTrailer+" on …")
	}
	return nil
}

var (
	reCreateDB    = regexp.MustCompile("^CREATE DATABASE /\\*!32312 IF NOT EXISTS\\*/ `((?:[^`]|``)+)`")
	reUse         = regexp.MustCompile("^USE `((?:[^`]|``)+)`;")
	reCreateTable = regexp.MustCompile("^CREATE TABLE `((?:[^`]|``)+)` \\(")
)

// DumpContents lists the databases a dump creates and the tables it
// creates in each.
func DumpContents(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	cur := ""
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadString('\n')
		// Data lines (INSERT …) can be long; only statement heads matter.
		if strings.HasPrefix(line, "CREATE ") || strings.HasPrefix(line, "USE ") {
			if m := reCreateDB.FindStringSubmatch(line); m != nil {
				name := strings.ReplaceAll(m[1], "``", "`")
				if _, ok := out[name]; !ok {
					out[name] = []string{}
				}
			} else if m := reUse.FindStringSubmatch(line); m != nil {
				cur = strings.ReplaceAll(m[1], "``", "`")
			} else if m := reCreateTable.FindStringSubmatch(line); m != nil && cur != "" {
				out[cur] = append(out[cur], strings.ReplaceAll(m[1], "``", "`"))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	for _, ts := range out {
		sort.Strings(ts)
	}
	return out, nil
}

// Verified is what a dump loaded back as.
type Verified struct {
	// Rows counts the rows of every table, by "database.table".
	Rows map[string]int64
	// Took is how long the scratch server took to start and load.
	Took time.Duration
}

// VerifyOptions tune VerifyDump.
type VerifyOptions struct {
	// Timeout bounds the scratch server's start; 3 minutes when zero.
	Timeout time.Duration
}

// VerifyDump proves a dump loads: it checks the closing line, starts a
// scratch container from the MySQL container's own image (no network, no
// mounts, a password of its own), loads the dump into it, checks that every
// database and table the dump creates is there, counts their rows, and
// removes the container. The live server is not touched.
func (m *MySQL) VerifyDump(ctx context.Context, path string, o VerifyOptions) (*Verified, error) {
	start := time.Now()
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if err := CheckComplete(path); err != nil {
		return nil, err
	}
	want, err := DumpContents(path)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("%s: %w: it creates no database", path, ErrDumpVerify)
	}
	scratch, cleanup, err := m.startScratch(ctx, o.Timeout)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	defer cleanup()

	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := scratch.Exec(ctx, nil, bufio.NewReaderSize(f, 1<<20), nil); err != nil {
		return nil, fmt.Errorf("verify %s: %w: loading it: %w", path, ErrDumpVerify, err)
	}

	var dbs []string
	for d := range want {
		dbs = append(dbs, quoteString(d))
	}
	sort.Strings(dbs)
	rows, err := scratch.Query(ctx, "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema IN ("+strings.Join(dbs, ", ")+")")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	got := map[string][]string{}
	for _, r := range rows {
		got[r[0]] = append(got[r[0]], r[1])
	}
	var problems []string
	var count strings.Builder
	for d, ts := range want {
		have := map[string]bool{}
		for _, t := range got[d] {
			have[t] = true
		}
		for _, t := range ts {
			if !have[t] {
				problems = append(problems, d+"."+t+" missing")
				continue
			}
			fmt.Fprintf(&count, "SELECT %s, %s, COUNT(*) FROM %s.%s;\n", quoteString(d), quoteString(t), quoteID(d), quoteID(t))
		}
		if _, ok := got[d]; !ok && len(ts) > 0 {
			problems = append(problems, "database "+d+" missing")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("verify %s: %w: %s", path, ErrDumpVerify, strings.Join(problems, ", "))
	}
	v := &Verified{Rows: map[string]int64{}}
	if count.Len() > 0 {
		rows, err := scratch.Query(ctx, count.String())
		if err != nil {
			return nil, fmt.Errorf("verify %s: counting rows: %w", path, err)
		}
		for _, r := range rows {
			if len(r) != 3 {
				return nil, fmt.Errorf("verify %s: counting rows: %w: %q", path, ErrDumpVerify, r)
			}
			n, err := strconv.ParseInt(r[2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("verify %s: counting rows: %w: %q", path, ErrDumpVerify, r)
			}
			v.Rows[r[0]+"."+r[1]] = n
		}
	}
	v.Took = time.Since(start)
	return v, nil
}

// startScratch runs a throwaway server from the live container's image.
func (m *MySQL) startScratch(ctx context.Context, timeout time.Duration) (*MySQL, func(), error) {
	ins, err := m.API.ContainerInspect(ctx, m.Container, client.ContainerInspectOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("inspect %s: %w", m.Container, err)
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, nil, err
	}
	pw := hex.EncodeToString(rnd[:])
	name := strings.TrimPrefix(ins.Container.Name, "/") + "-verify-" + pw[:8]
	cr, err := m.API.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:  ins.Container.Image,
			Env:    []string{"MYSQL_ROOT_PASSWORD=" + pw},
			Labels: map[string]string{ScratchLabel: m.Container},
		},
		HostConfig: &container.HostConfig{NetworkMode: network.NetworkNone},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create scratch container %s: %w", name, err)
	}
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, _ = m.API.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
	if _, err := m.API.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start scratch container %s: %w", name, err)
	}
	// The image's entrypoint first runs a socket-only server to initialise;
	// the TCP port answers once the real one runs.
	s := &MySQL{API: m.API, Container: cr.ID, Port: topology.Builtin(topology.SQL), User: "root", Password: pw}
	deadline := time.Now().Add(timeout)
	for {
		err := s.Ping(ctx)
		if err == nil {
			return s, cleanup, nil
		}
		st, ierr := m.API.ContainerInspect(ctx, cr.ID, client.ContainerInspectOptions{})
		if ierr == nil && st.Container.State != nil && !st.Container.State.Running {
			cleanup()
			return nil, nil, fmt.Errorf("%w: scratch container %s stopped (exit %d) before it answered", ErrDumpVerify, name, st.Container.State.ExitCode)
		}
		if time.Now().After(deadline) {
			cleanup()
			return nil, nil, fmt.Errorf("%w: scratch container %s did not answer within %s: %w", ErrDumpVerify, name, timeout, err)
		}
		select {
		case <-ctx.Done():
			cleanup()
			return nil, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Restore loads a dump made by Dump into the live server: each database in
// it is dropped and created again from the dump. Stop the writers first.
func (m *MySQL) Restore(ctx context.Context, path string) error {
	if err := CheckComplete(path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	if err := m.Exec(ctx, nil, bufio.NewReaderSize(f, 1<<20), nil); err != nil {
		return fmt.Errorf("restore %s: %w", path, err)
	}
	return nil
}

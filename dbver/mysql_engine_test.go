package dbver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// adversarial holds every character that breaks naive quoting in SQL,
// shells, .env and option files.
const adversarial = `a'b"c\d$e f#g;h` + "`i" + `%{j}$$k\'`

// TestRenderedMySQLStarts renders a deployment whose MySQL password is
// adversarial, runs its mysql service on the MariaDB stand-in of the
// database engine and checks that the rendered my.cnf, init.sql and
// passwords are what the server runs with.
func TestRenderedMySQLStarts(t *testing.T) {
	st := renderStack(t, "mysql.password="+adversarial)
	m := st.startMySQL(t)
	ctx := context.Background()
	api := st.e.API()

	ins, err := api.ContainerInspect(ctx, m.Container, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := api.ImageInspect(ctx, ins.Container.Image)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Labels[standin.Label] != "true" || img.Config.Labels[standin.KindLabel] != standin.KindDatabaseEngine {
		t.Fatalf("the mysql service does not run the stand-in of the database engine: labels %v", img.Config.Labels)
	}
	if m.Password != adversarial {
		t.Fatalf(".env gives the password %q, want %q", m.Password, adversarial)
	}
	env := map[string]string{}
	for _, e := range ins.Container.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	if env["MYSQL_ROOT_PASSWORD"] != adversarial {
		t.Fatalf("the container got MYSQL_ROOT_PASSWORD %q, want %q", env["MYSQL_ROOT_PASSWORD"], adversarial)
	}

	dir, err := layout.Read(ctx, st.s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	log := logs(t, st, m.Container)

	t.Run("my.cnf", func(t *testing.T) {
		// Only the listed MySQL-only options are marked, and the log says so.
		line := 0
		for i, l := range strings.Split(string(dir.Data[topology.MyCnf]), "\n") {
			if strings.HasPrefix(l, "default-authentication-plugin") {
				line = i + 1
			}
		}
		want := "stand-in mariadb: marked loose- (MySQL options MariaDB does not have): default-authentication-plugin (line " + strconv.Itoa(line) + ")\n"
		if line == 0 || !strings.Contains(log, want) {
			t.Errorf("logs lack %q:\n%s", want, log)
		}
		mounted := execOut(t, st, m.Container, "cat", "/etc/my.cnf")
		used := execOut(t, st, m.Container, "cat", "/run/mysqld/my.cnf")
		if mounted != string(dir.Data[topology.MyCnf]) {
			t.Errorf("/etc/my.cnf in the container is not the rendered file")
		}
		if got := strings.Replace(mounted, "\ndefault-authentication-plugin=", "\nloose-default-authentication-plugin=", 1); used != got {
			t.Errorf("the server's copy differs from my.cnf beyond the marked line:\n%s", used)
		}
		// Every other [mysqld] setting is in effect.
		sec, err := dir.MyCnf.F.GetSection("mysqld")
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, k := range sec.Keys() {
			name := strings.ReplaceAll(k.Name(), "-", "_")
			want := k.Value()
			switch name {
			case "default_authentication_plugin":
				continue
			case "innodb_buffer_pool_size":
				want = strings.TrimSuffix(want, "M")
				n, _ := strconv.Atoi(want)
				want = strconv.Itoa(n << 20)
			}
			rows := mustSQL(t, m, "SELECT @@GLOBAL."+name)
			got := rows[0][0]
			if name == "slave_skip_errors" && want == "all" && strings.HasPrefix(got, "0,1,2,3,") {
				// MariaDB shows "all" as every error number.
				got = want
			}
			if !strings.EqualFold(got, want) {
				t.Errorf("[mysqld] %s = %s, but the server runs with %s", k.Name(), k.Value(), got)
			}
			checked++
		}
		if checked < 5 {
			t.Errorf("only %d [mysqld] settings checked", checked)
		}
	})

	t.Run("init.sql ran", func(t *testing.T) {
		if !strings.Contains(log, "running /docker-entrypoint-initdb.d/init.sql") {
			t.Errorf("init.sql did not run:\n%s", log)
		}
		grants := mustSQL(t, m, "SHOW GRANTS FOR 'grafana'@'%'")
		var all []string
		for _, r := range grants {
			all = append(all, r[0])
		}
		if !strings.Contains(strings.Join(all, "\n"), "GRANT ALL PRIVILEGES ON *.* TO `grafana`@`%`") ||
			!strings.Contains(strings.Join(all, "\n"), "WITH GRANT OPTION") {
			t.Errorf("init.sql's grant is not in effect: %q", all)
		}
	})

	t.Run("logins", func(t *testing.T) {
		mysqlEnv := dir.Compose.Service("mysql").Env
		grafanaEnv := dir.Compose.Service("deepflow-grafana").Env
		user := mysqlEnv["MYSQL_USER"].Val
		if user == "" || env["MYSQL_USER"] != user {
			t.Fatalf("MYSQL_USER: compose %q, container %q", user, env["MYSQL_USER"])
		}
		grafanaUser := *m
		grafanaUser.User, grafanaUser.Password = user, mysqlEnv["MYSQL_PASSWORD"].Val
		if err := grafanaUser.Ping(ctx); err != nil {
			t.Errorf("%s cannot log in with its password: %v", user, err)
		}
		// The global grant from init.sql lets it act beyond its database.
		if _, err := grafanaUser.Query(ctx, "CREATE DATABASE dfc_grant_probe; DROP DATABASE dfc_grant_probe"); err != nil {
			t.Errorf("%s cannot use its global grant: %v", user, err)
		}
		// Grafana itself logs in as grafana.ini says, with the password
		// its container environment gives it.
		gu, _ := dir.GrafanaINI.Get("database", "user")
		gname, _ := dir.GrafanaINI.Get("database", "name")
		gp := grafanaEnv["MYSQL_PASSWORD"].Val
		asGrafana := *m
		asGrafana.User, asGrafana.Password = gu.Val, gp
		if rows, err := asGrafana.Query(ctx, "SELECT DATABASE(); USE `"+gname.Val+"`; SELECT DATABASE()"); err != nil {
			t.Errorf("Grafana's login %s cannot use database %s: %v", gu.Val, gname.Val, err)
		} else if rows[len(rows)-1][0] != gname.Val {
			t.Errorf("Grafana's database: %q", rows)
		}
		if err := m.Ping(ctx); err != nil {
			t.Errorf("root cannot log in with its password: %v", err)
		}
		// As MySQL's entrypoint leaves them: root here and from anywhere,
		// the MYSQL_USER, no anonymous user; MariaDB's own locked
		// mariadb.sys owns its system views.
		var accounts []string
		for _, r := range mustSQL(t, m, "SELECT CONCAT(user, '@', host) FROM mysql.user ORDER BY 1") {
			accounts = append(accounts, r[0])
		}
		if got, want := strings.Join(accounts, " "), user+"@% mariadb.sys@localhost root@% root@localhost"; got != want {
			t.Errorf("accounts: %s, want %s", got, want)
		}
		for _, bad := range []struct{ user, pw string }{{"root", "x" + adversarial}, {user, adversarial[:5]}, {"root", ""}} {
			wrong := *m
			wrong.User, wrong.Password = bad.user, bad.pw
			if err := wrong.Ping(ctx); !errors.Is(err, dbver.ErrExec) || !strings.Contains(err.Error(), "Access denied") {
				t.Errorf("%s with a wrong password: %v", bad.user, err)
			}
		}
	})

	t.Run("second start keeps the data dir", func(t *testing.T) {
		mustSQL(t, m, "CREATE DATABASE kept; CREATE TABLE kept.t (v VARCHAR(8)); INSERT INTO kept.t VALUES ('here')")
		if err := st.e.StopServices(ctx, st.s, "mysql"); err != nil {
			t.Fatal(err)
		}
		stopped, err := api.ContainerInspect(ctx, m.Container, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if stopped.Container.State.Running || stopped.Container.ID != ins.Container.ID {
			t.Fatalf("after stop: running %v, same container %v", stopped.Container.State.Running, stopped.Container.ID == ins.Container.ID)
		}
		if err := st.e.UpServices(ctx, st.s, "mysql"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, st, m.Container, m.Ping)
		if rows := mustSQL(t, m, "SELECT v FROM kept.t"); len(rows) != 1 || rows[0][0] != "here" {
			t.Errorf("after a restart: %q", rows)
		}
		if n := strings.Count(logs(t, st, m.Container), "initialising the data dir"); n != 1 {
			t.Errorf("the data dir was initialised %d times", n)
		}
		if _, err := os.Stat(filepath.Join(st.s.DataDir, "mysql", "kept")); err != nil {
			t.Errorf("the data is not in the rendered data dir: %v", err)
		}
	})
}

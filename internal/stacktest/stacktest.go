// Package stacktest holds what the tests that bring rendered stacks up
// share: a deployment rendered with the real render package and loaded as
// engine sees it, and databases seeded as DeepFlow leaves them.
package stacktest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Render renders a deployment of profile into root/deploy, node IP on
// loopback, with sets, and loads it.
func Render(t testing.TB, root, profile string, sets ...string) *engine.Stack {
	t.Helper()
	dir := filepath.Join(root, "deploy")
	plan, err := render.Prepare(context.Background(), render.Options{
		Inputs: settings.Inputs{Profile: profile, NodeIP: "127.0.0.1", Sets: sets},
		OutDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(false); err != nil {
		t.Fatal(err)
	}
	s, err := engine.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SeedVersionSQL creates a database the way DeepFlow's migrator leaves
// it: table db_version with one row.
func SeedVersionSQL(db, version string) string {
	q := "`" + db + "`"
	return fmt.Sprintf(`DROP DATABASE IF EXISTS %[1]s; CREATE DATABASE %[1]s;
CREATE TABLE %[1]s.db_version (
  version CHAR(64),
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (version)
) ENGINE=innodb DEFAULT CHARSET=utf8;
INSERT INTO %[1]s.db_version (version) VALUES ('%[2]s');
`, q, version)
}

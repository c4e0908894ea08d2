// Package dbver reads the schema versions of a running DeepFlow stack's
// databases and backs MySQL up and restores it, for `upgrade`:
//
//   - MySQL: the version in table db_version of every DeepFlow database
//     (deepflow, and one NNNN_deepflow per extra organisation), read by
//     running the mysql client inside the MySQL container with the rendered
//     root password, passed in the exec's environment, never in its
//     arguments;
//   - ClickHouse: the version each table carries as the comment of its
//     column time, read from system.columns over ClickHouse's HTTP
//     interface with its credentials;
//   - a consistent MySQL dump (mysqldump --single-transaction, one snapshot
//     of every database asked for) streamed through the container into a
//     file of mode 0600; its verification (complete, and loads into a
//     scratch container of the same image); its restore.
//
// The versions each DeepFlow release expects are catalog data: callers pass
// them in. DeepFlow's server exits when db_version differs from what it
// expects and never migrates down, and ClickHouse tables compare by
// equality, so Judge and CheckClickHouse refuse what the server would choke
// on.
package dbver

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/deepflow-compose/deepflow-compose/catalog"
)

// Errors callers can test with errors.Is.
var (
	// ErrEmptyVersion: a database's db_version table holds no row (the
	// server stops with "current db version is null").
	ErrEmptyVersion = errors.New("db_version is empty")
	// ErrNoVersionTable: the database has no db_version table.
	ErrNoVersionTable = errors.New("no db_version table")
	// ErrUnknownVersion: a version that is not dotted numbers.
	ErrUnknownVersion = errors.New("unknown version")
	// ErrDowngrade: the database is newer than the target expects.
	ErrDowngrade = errors.New("downgrade")
	// ErrTableVersion: a ClickHouse table does not carry the version asked for.
	ErrTableVersion = errors.New("clickhouse table version differs")
	// ErrDumpIncomplete: a dump file lacks mysqldump's closing line.
	ErrDumpIncomplete = errors.New("dump incomplete")
	// ErrDumpVerify: a dump did not load back as it should.
	ErrDumpVerify = errors.New("dump does not load back")
	// ErrExec: a command inside the container failed.
	ErrExec = errors.New("command in container failed")
)

// Verdict says what running a server that expects one version does to a
// database at another.
type Verdict int

const (
	// Same: nothing to migrate.
	Same Verdict = iota
	// Upgrade: the server will migrate the database forward.
	Upgrade
	// Downgrade: the database is newer; the server would exit in a loop.
	Downgrade
)

func (v Verdict) String() string {
	switch v {
	case Same:
		return "same"
	case Upgrade:
		return "upgrade"
	case Downgrade:
		return "downgrade"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Compare orders two dotted numeric versions (7.0.1.29 < 7.1.0.30) as
// catalog.CompareVersions does (DeepFlow's migrator's order), but refuses
// an empty or unparsable version with dbver's errors instead of sorting it
// first. It returns -1, 0 or 1.
func Compare(a, b string) (int, error) {
	for _, v := range []string{a, b} {
		switch {
		case v == "":
			return 0, ErrEmptyVersion
		case !catalog.IsVersion(v):
			return 0, fmt.Errorf("%w: %q", ErrUnknownVersion, v)
		}
	}
	return catalog.CompareVersions(a, b), nil
}

// Judge says what a server expecting target does to a database whose
// db_version is current. An empty or unparsable current version, and a
// downgrade, come with an error (ErrEmptyVersion, ErrUnknownVersion,
// ErrDowngrade) that says why and what to do.
func Judge(database, current, target string) (Verdict, error) {
	if current == "" {
		return 0, fmt.Errorf("%s: %w: the server would stop with \"current db version is null\"; "+
			"restore the database from a backup, or repair db_version by hand", database, ErrEmptyVersion)
	}
	c, err := Compare(current, target)
	if err != nil {
		return 0, fmt.Errorf("%s: db_version %q, target %q: %w", database, current, target, err)
	}
	switch {
	case c < 0:
		return Upgrade, nil
	case c > 0:
		return Downgrade, fmt.Errorf("%s: %w: db_version is %s, newer than the %s the target expects; "+
			"DeepFlow never migrates down, and its server would exit in a loop. "+
			"Stay on the current version, or restore a backup taken before the upgrade", database, ErrDowngrade, current, target)
	}
	return Same, nil
}

// JudgeAll judges every database against target and returns the verdict
// that rules them all (Downgrade over Upgrade over Same) with every
// database's error joined.
func JudgeAll(versions []DBVersion, target string) (Verdict, error) {
	worst := Same
	var errs []error
	for _, v := range versions {
		if v.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Database, v.Err))
			continue
		}
		vd, err := Judge(v.Database, v.Version, target)
		if err != nil {
			errs = append(errs, err)
		}
		if vd > worst {
			worst = vd
		}
	}
	return worst, errors.Join(errs...)
}

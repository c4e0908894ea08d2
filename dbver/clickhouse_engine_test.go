package dbver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/dbver"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// TestClickHouseVersions runs the rendered clickhouse service on the
// busybox stand-in, with table versions seeded in its data dir as a
// release leaves them, and reads them over HTTP with the rendered
// password.
func TestClickHouseVersions(t *testing.T) {
	st := renderStack(t, "clickhouse.password="+adversarial)
	ctx := context.Background()
	if _, err := standin.Build(ctx, st.e.API(), []string{st.image(t, st.s.Topology.ClickHouse.Service)}, standin.Options{}); err != nil {
		t.Fatal(err)
	}
	// Seeded where ClickHouse keeps its data, so the versions stay with it.
	data := filepath.Join(st.s.DataDir, "clickhouse")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := "flow_log\tl4_flow_log\tv7.1.7.3\n" +
		"flow_log\tl7_flow_log\tv7.1.7.3\n" +
		"flow_metrics\tnetwork.1m\tv7.0.5.0\n" +
		"flow_metrics\tapplication.1s\t\n" +
		"event\tevent\tv7.1.7.3\n"
	if err := os.WriteFile(filepath.Join(data, "standin-columns.tsv"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.e.UpServices(ctx, st.s, "clickhouse"); err != nil {
		t.Fatalf("up clickhouse: %v\n%s", err, st.out.String())
	}
	ch, err := dbver.ClickHouseFor(ctx, st.e.API(), st.s)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Password != adversarial {
		t.Fatalf("password from .env %q", ch.Password)
	}
	var got []dbver.TableVersion
	waitFor(t, st, st.s.Topology.ClickHouse.Container, func(ctx context.Context) error {
		got, err = ch.TableVersions(ctx, nil)
		return err
	})
	want := []dbver.TableVersion{
		{Database: "flow_log", Table: "l4_flow_log", Version: "v7.1.7.3"},
		{Database: "flow_log", Table: "l7_flow_log", Version: "v7.1.7.3"},
		{Database: "flow_metrics", Table: "application.1s", Version: ""},
		{Database: "flow_metrics", Table: "network.1m", Version: "v7.0.5.0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("table versions:\n%+v\nwant\n%+v", got, want)
	}
	err = dbver.CheckClickHouse(got, "v7.1.7.3")
	if !errors.Is(err, dbver.ErrTableVersion) || err.Error() != "clickhouse table version differs: want v7.1.7.3, but 2 of 4 tables differ: flow_metrics.application.1s (no version), flow_metrics.network.1m (v7.0.5.0)" {
		t.Errorf("check: %v", err)
	}
	if got, err := ch.TableVersions(ctx, []string{"flow_log"}); err != nil || dbver.CheckClickHouse(got, "v7.1.7.3") != nil || len(got) != 2 {
		t.Errorf("flow_log alone: %+v, %v", got, err)
	}

	wrong := *ch
	wrong.Password = "x"
	if _, err := wrong.TableVersions(ctx, nil); err == nil || !strings.Contains(err.Error(), "HTTP 516: Code: 516.") {
		t.Errorf("a wrong password: %v", err)
	}
}

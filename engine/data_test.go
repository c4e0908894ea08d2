package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/render"
)

// TestDataOwnership runs a stack over a data dir that already holds another
// install's ClickHouse data: purge deletes what the stack created and keeps
// that. Then a MySQL password changed over existing data stops up before
// anything starts, until --accept-password-change.
func TestDataOwnership(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	var out syncBuffer
	e := newEngine(t, &out, "")
	s := renderStack(t, "host-network", "projectName=dfc-owned")
	buildStandins(t, e, s, standin.Options{})
	downAtEnd(t, e, s)
	foreign := filepath.Join(s.DataDir, "clickhouse", "from-another-install")
	if err := os.MkdirAll(filepath.Dir(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(foreign, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Up(ctx, s, engine.UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	mysqlData := filepath.Join(s.DataDir, "mysql", "standin.ibd")
	if _, err := os.Stat(mysqlData); err != nil {
		t.Fatalf("no MySQL stand-in data: %v", err)
	}

	t.Run("password changed over data", func(t *testing.T) {
		if err := e.Down(ctx, s, engine.DownOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := render.Rerender(ctx, s.Dir, "mysql.password=Changed-pass-42"); err != nil {
			t.Fatal(err)
		}
		s2, err := engine.Load(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		var po syncBuffer
		pe := newEngine(t, &po, "")
		_, err = pe.Up(ctx, s2, engine.UpOptions{Timeout: time.Minute})
		if !errors.Is(err, engine.ErrPasswordChanged) || !errors.Is(err, engine.ErrPreflight) {
			t.Fatalf("want ErrPasswordChanged, got %v\n%s", err, po.String())
		}
		if strings.Contains(err.Error()+po.String(), "Changed-pass-42") {
			t.Errorf("the password shows in the output")
		}
		if !strings.Contains(err.Error(), "ALTER USER") {
			t.Errorf("no fix given: %v", err)
		}
		if n := len(containers(t, pe, s2.Project)); n != 0 {
			t.Errorf("%d containers started despite the refusal", n)
		}
		if _, err := pe.Up(ctx, s2, engine.UpOptions{Timeout: time.Minute, AcceptPasswordChange: true}); err != nil {
			t.Fatalf("up --accept-password-change: %v\n%s", err, po.String())
		}
		var again syncBuffer
		ae := newEngine(t, &again, "")
		if _, err := ae.Up(ctx, s2, engine.UpOptions{Timeout: time.Minute}); err != nil {
			t.Fatalf("up after accepting: %v\n%s", err, again.String())
		}
	})

	t.Run("purge keeps foreign data", func(t *testing.T) {
		var po syncBuffer
		pe := newEngine(t, &po, "")
		if err := pe.Down(ctx, s, engine.DownOptions{Purge: true, Yes: true}); err != nil {
			t.Fatalf("purge: %v\n%s", err, po.String())
		}
		if _, err := os.Stat(mysqlData); !os.IsNotExist(err) {
			t.Errorf("purge left the stack's MySQL data: %v", err)
		}
		if b, err := os.ReadFile(foreign); err != nil || string(b) != "keep me" {
			t.Errorf("purge deleted data the stack did not create: %v", err)
		}
		if !strings.Contains(po.String(), "Kept, because this stack did not create them: "+filepath.Join(s.DataDir, "clickhouse")) {
			t.Errorf("purge did not name what it kept:\n%s", po.String())
		}
	})

	t.Run("purge refuses data without a record", func(t *testing.T) {
		if err := os.MkdirAll(filepath.Join(s.DataDir, "mysql"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mysqlData, []byte("not ours"), 0o644); err != nil {
			t.Fatal(err)
		}
		var po syncBuffer
		pe := newEngine(t, &po, "")
		err := pe.Down(ctx, s, engine.DownOptions{Purge: true, Yes: true})
		if !errors.Is(err, engine.ErrPurge) || !strings.Contains(err.Error(), "nothing was removed") {
			t.Fatalf("want ErrPurge, got %v", err)
		}
		if _, err := os.Stat(mysqlData); err != nil {
			t.Errorf("a refused purge deleted data: %v", err)
		}
	})
}

// TestStandinSparesRealImages: the stand-in builder refuses a name a real
// image holds, since up would then run the stand-in instead, unless told.
func TestStandinSparesRealImages(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	var out syncBuffer
	e := newEngine(t, &out, "")
	layer, err := standin.Rootfs(standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const real = "127.0.0.1:5999/dfc-real/mysql:1"
	res, err := e.API().ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(layer), SourceName: "-"}, real, client.ImageImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res)
	res.Close()
	t.Cleanup(func() { e.API().ImageRemove(ctx, real, client.ImageRemoveOptions{Force: true}) })
	_, err = standin.Build(ctx, e.API(), []string{"127.0.0.1:5999/dfc-real/other:1", real}, standin.Options{})
	if !errors.Is(err, standin.ErrRealImage) || !strings.Contains(err.Error(), real) {
		t.Fatalf("want ErrRealImage naming %s, got %v", real, err)
	}
	if _, err := e.API().ImageInspect(ctx, "127.0.0.1:5999/dfc-real/other:1"); err == nil {
		t.Error("a refused build tagged an image")
	}
	if _, err := standin.Build(ctx, e.API(), []string{real}, standin.Options{ReplaceReal: true}); err != nil {
		t.Fatalf("-replace-real: %v", err)
	}
}

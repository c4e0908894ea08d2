package serverkeys

import (
	"errors"
	"strings"
	"testing"
)

func TestReleases(t *testing.T) {
	want := "v6.5 v6.6-branch v6.6.8 v6.6.9 v7.0-branch v7.0.9 v7.1-branch v7.1.8"
	if got := strings.Join(Releases(), " "); got != want {
		t.Errorf("Releases() = %s, want %s", got, want)
	}
	if _, err := Reads("v6.6.1", "log-file"); !errors.Is(err, ErrUnknownRelease) {
		t.Errorf("unknown release: %v", err)
	}
}

// The derived lists agree with what the server facts file records from
// decoding rendered files into each release's structs.
func TestListsAgreeWithServerFacts(t *testing.T) {
	never := []string{"controller.election-namespace", "ingester.es-syslog", "querier.clickhouse.database"}
	always := []string{"log-file", "controller.election-name", "controller.mysql.database", "controller.clickhouse.database",
		"controller.genesis.local_ip_ranges", "controller.trisolaris.chrony.host", "ingester.ckdb.storage-policy",
		"ingester.ckdb-auth.password", "querier.clickhouse.user-password", "querier.clickhouse.host", "querier.deepflow-app.port"}
	trident := "controller.trisolaris.trident-type-for-unkonw-vtap"
	readsTrident := map[string]bool{"v6.5": true, "v6.6.8": true, "v6.6.9": true, "v6.6-branch": true, "v7.0.9": true, "v7.0-branch": true}
	for _, r := range Releases() {
		for _, k := range never {
			if ok, _ := Reads(r, k); ok {
				t.Errorf("%s reads %s", r, k)
			}
		}
		for _, k := range always {
			if ok, _ := Reads(r, k); !ok {
				t.Errorf("%s does not read %s", r, k)
			}
		}
		if ok, _ := Reads(r, trident); ok != readsTrident[r] {
			t.Errorf("%s reads %s: %v, want %v", r, trident, ok, readsTrident[r])
		}
	}
}

func TestKeys(t *testing.T) {
	doc := `
a:
  b: 1
  c:
    - d: x
      e: y
    - d: z
  f: [1, 2]
g:
`
	got, err := Keys([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a a.b a.c a.c.d a.c.e a.f g"; strings.Join(got, " ") != want {
		t.Errorf("Keys = %v, want %s", got, want)
	}
	if _, err := Keys([]byte("a: [")); err == nil {
		t.Error("broken YAML gave no error")
	}
}

func TestWildcard(t *testing.T) {
	s := set{"a": true, "a.*": true, "a.*.b": true, "c": true}
	for k, want := range map[string]bool{"a": true, "a.x": true, "a.x.b": true, "a.x.c": false, "c.x": false, "d": false} {
		if got := s.has(strings.Split(k, ".")); got != want {
			t.Errorf("has(%s) = %v, want %v", k, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	doc := []byte("controller:\n  election-namespace: deepflow\n  trisolaris:\n    trident-type-for-unkonw-vtap: 3\nlog-file: x\n")
	err := Check([]string{"v7.0.9", "v7.1.8"}, doc)
	want := "key not read by deepflow-server:\n" +
		"  controller.election-namespace: not read by DeepFlow v7.0.9, v7.1.8\n" +
		"  controller.trisolaris.trident-type-for-unkonw-vtap: not read by DeepFlow v7.1.8"
	if !errors.Is(err, ErrUnread) || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	if err := Check([]string{"v7.0.9"}, []byte("controller:\n  trisolaris:\n    trident-type-for-unkonw-vtap: 3\n")); err != nil {
		t.Errorf("v7.0.9: %v", err)
	}
	if ok, err := ReadByAll([]string{"v7.0.9", "v7.1.8"}, "controller.trisolaris.trident-type-for-unkonw-vtap"); ok || err != nil {
		t.Errorf("ReadByAll = %v, %v", ok, err)
	}
	if ok, err := ReadByAll(nil, "log-file"); ok || err != nil {
		t.Errorf("ReadByAll(nil) = %v, %v", ok, err)
	}
}

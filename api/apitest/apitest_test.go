package apitest

import "testing"

func TestUnknownKeyWording(t *testing.T) {
	for path, want := range map[string]string{
		"platform_enabled":  "unexpected key in configuration: platform_enabled",
		"global.common":     "invalid value for key 'global': unexpected key in configuration: common",
		"inputs.cbpf.x_key": "invalid value for key 'inputs': invalid value for key 'cbpf': unexpected key in configuration: x_key",
	} {
		if got := (UnknownKeyError{Path: path}).Error(); got != want {
			t.Errorf("%s: %q", path, got)
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	s := New(Options{})
	g := s.SeedGroup("g1", "g-0123456789")
	if err := s.SeedGroupConfig("g-0123456789", "a: 1\n"); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedGroupConfig("g-nope000000", "a: 1\n"); err == nil {
		t.Error("config for an unknown group accepted")
	}
	st := s.Snapshot()
	s2 := New(Options{})
	s2.Restore(st)
	if d, ok := s2.GroupConfig("g-0123456789"); !ok || d != "a: 1\n" || s2.Snapshot().Groups[1].LCUUID != g.LCUUID {
		t.Errorf("%q %v", d, ok)
	}
}

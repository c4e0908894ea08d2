package topology

import (
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// TestSettingKeyMovesTheNodePort: the key SettingKey names for a listener
// really moves that listener's node port, under both network modes, and
// the server's listeners have none.
func TestSettingKeyMovesTheNodePort(t *testing.T) {
	for _, network := range []string{"bridge", "host"} {
		for _, n := range []Name{SQL, TCP, HTTP, Web} {
			key, ok := SettingKey(n)
			if !ok {
				t.Fatalf("%s has no setting", n)
			}
			sets := []string{"network=" + network, key + "=31999", "expose.datastores=true"}
			var layers []settings.Layer
			for _, a := range sets {
				l, err := settings.ParseSet(a)
				if err != nil {
					t.Fatal(err)
				}
				layers = append(layers, l)
			}
			s, err := settings.Resolve(layers...)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Resolve(SpecFor(&s)).Listener(n)
			if err != nil {
				t.Fatal(err)
			}
			if l.HostPort != 31999 {
				t.Errorf("%s: --set %s=31999 gives node port %d", network, key, l.HostPort)
			}
		}
	}
	for _, n := range []Name{Controller, GRPC, Ingester, Querier, Profile, App} {
		if k, ok := SettingKey(n); ok {
			t.Errorf("%s has setting %s", n, k)
		}
	}
}

package dbver

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// ClickHouseUser is the ClickHouse user the rendered users.xml defines.
const ClickHouseUser = "default"

// stackEnv reads the rendered .env, which holds the passwords.
func stackEnv(s *engine.Stack) (map[string]string, error) {
	data, err := os.ReadFile(s.EnvFile)
	if err != nil {
		return nil, err
	}
	return layout.ReadEnv(data)
}

// MySQLFor is the MySQL server of a rendered stack: its container, the
// port its my.cnf names (dialled on loopback inside the container) and
// root with the password in the stack's .env.
func MySQLFor(api client.APIClient, s *engine.Stack) (*MySQL, error) {
	env, err := stackEnv(s)
	if err != nil {
		return nil, err
	}
	name := topology.Vars.MySQLPassword
	pw, ok := env[name]
	if !ok || pw == "" {
		return nil, fmt.Errorf("%s: %s is not set", s.EnvFile, name)
	}
	ep, err := s.Topology.Self(topology.SQL)
	if err != nil {
		return nil, err
	}
	return &MySQL{API: api, Container: s.Topology.MySQL.Container, Host: ep.Host, Port: ep.Port, User: "root", Password: pw}, nil
}

// ClickHouseFor is the ClickHouse server of a rendered stack, reached over
// HTTP from this host: on its published port when it has one (on loopback
// when it binds only that), else on the container's address in the
// stack's network.
func ClickHouseFor(ctx context.Context, api client.APIClient, s *engine.Stack) (*ClickHouse, error) {
	env, err := stackEnv(s)
	if err != nil {
		return nil, err
	}
	name := topology.Vars.ClickHousePassword
	pw, ok := env[name]
	if !ok || pw == "" {
		return nil, fmt.Errorf("%s: %s is not set", s.EnvFile, name)
	}
	c := &s.Topology.ClickHouse
	l, err := c.L(topology.HTTP)
	if err != nil {
		return nil, err
	}
	ch := &ClickHouse{User: ClickHouseUser, Password: pw}
	if l.HostPort != 0 {
		ep, err := s.Topology.External(topology.HTTP)
		if err != nil {
			return nil, err
		}
		if l.Bind == topology.Loopback {
			ep.Host = l.Bind
		}
		ch.URL = ep.URL()
		return ch, nil
	}
	ins, err := api.ContainerInspect(ctx, c.Container, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", c.Container, err)
	}
	var addrs []string
	if ns := ins.Container.NetworkSettings; ns != nil {
		for _, n := range ns.Networks {
			if n != nil && n.IPAddress.IsValid() {
				addrs = append(addrs, n.IPAddress.String())
			}
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s publishes no HTTP port and has no network address", c.Container)
	}
	sort.Strings(addrs)
	ch.URL = "http://" + net.JoinHostPort(addrs[0], strconv.Itoa(l.Port))
	return ch, nil
}

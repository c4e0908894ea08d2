package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// whoHolds names the process or container that holds a busy node port.
type whoHolds struct {
	project    string
	containers []container.Summary
	// pidNS maps a pid namespace to the container that owns it, so a
	// process in a host-network container is named by its container.
	pidNS map[string]container.Summary
}

func (e *Engine) newWhoHolds(ctx context.Context, project string) *whoHolds {
	w := &whoHolds{project: project, pidNS: map[string]container.Summary{}}
	res, err := e.api.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return w
	}
	w.containers = res.Items
	for _, c := range res.Items {
		ins, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil || ins.Container.State == nil || ins.Container.State.Pid == 0 {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", ins.Container.State.Pid)); err == nil {
			w.pidNS[ns] = c
		}
	}
	return w
}

// holder describes who holds port and whether it is this stack.
func (w *whoHolds) holder(port int) (string, bool) {
	for _, c := range w.containers {
		for _, p := range c.Ports {
			if int(p.PublicPort) == port {
				return w.describe(c), c.Labels[api.ProjectLabel] == w.project
			}
		}
	}
	// A port may be held by several processes (a forking server); a
	// container's process names the container, otherwise the first one.
	pids := listeningPIDs(port)
	for _, pid := range pids {
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if c, ok := w.pidNS[ns]; ok && ns != "" {
			return fmt.Sprintf("%s, pid %d (%s)", w.describe(c), pid, procName(pid)), c.Labels[api.ProjectLabel] == w.project
		}
	}
	if len(pids) > 0 {
		return fmt.Sprintf("pid %d (%s)", pids[0], procName(pids[0])), false
	}
	return "", false
}

func (w *whoHolds) describe(c container.Summary) string {
	name := c.ID[:min(12, len(c.ID))]
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	if p := c.Labels[api.ProjectLabel]; p != "" {
		return fmt.Sprintf("container %s of compose project %s", name, p)
	}
	return "container " + name
}

func procName(pid int) string {
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err == nil && len(cmd) > 0 {
		s := strings.Join(strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " ")), " ")
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return s
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(comm))
}

// listeningPIDs finds the processes with a listening TCP socket on port, in
// this network namespace, from /proc. Without the rights to read other
// processes' descriptors it finds nothing, and the caller says so.
func listeningPIDs(port int) []int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return nil
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(p + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && inodes[l] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

package render

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// DefaultRouteIP returns the IPv4 address of the interface that holds the
// default route, read from the kernel's routing table.
func DefaultRouteIP() (ip, from string, err error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway …; the default route has destination 0.
		if len(fields) < 2 || fields[1] != "00000000" {
			continue
		}
		iface, err := net.InterfaceByName(fields[0])
		if err != nil {
			return "", "", err
		}
		addrs, err := iface.Addrs()
		if err != nil {
			return "", "", err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String(), fmt.Sprintf("interface %s, which holds the default route", iface.Name), nil
			}
		}
		return "", "", fmt.Errorf("interface %s holds the default route but has no IPv4 address", iface.Name)
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	return "", "", errors.New("no default route")
}

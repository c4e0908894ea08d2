package render

import (
	"net/netip"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// ntpClientRanges are the networks the node's NTP server must answer when
// it is the agents' time source (offline): DeepFlow's private local
// ranges, which hold the compose networks deepflow-server queries from
// under bridge networking, and the agents' own subnets.
func ntpClientRanges(subnets []string) []string {
	out := []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
	seen := map[string]bool{}
	for _, o := range out {
		seen[o] = true
	}
	for _, s := range subnets {
		for _, p := range cidrs(s) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// cidrs writes a subnet setting (CIDR, a-b range or one address) as the
// CIDRs chrony's allow takes; nil when it does not parse (settings
// validation reports that).
func cidrs(s string) []string {
	l, h, ok := settings.SubnetRange(s)
	if !ok {
		return nil
	}
	var out []string
	for cur := l; ; {
		// The largest block starting at cur that stays within [cur, h].
		bits := cur.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(cur, bits-1).Masked()
			if p.Addr() != cur || settings.LastAddr(p).Compare(h) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(cur, bits)
		out = append(out, p.String())
		last := settings.LastAddr(p)
		if last.Compare(h) >= 0 {
			return out
		}
		cur = last.Next()
	}
}

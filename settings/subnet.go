package settings

import (
	"net/netip"
	"strings"
)

// SubnetRange is the inclusive address range an agent subnet names: a
// CIDR, an a-b range or one address; false when it names none. Validate
// reports the spellings it refuses; render and check read the range.
func SubnetRange(s string) (lo, hi netip.Addr, ok bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		return p.Addr(), LastAddr(p), true
	}
	a, b := s, s
	if x, y, cut := strings.Cut(s, "-"); cut {
		a, b = strings.TrimSpace(x), strings.TrimSpace(y)
	}
	lo, err1 := netip.ParseAddr(a)
	hi, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil || lo.BitLen() != hi.BitLen() || hi.Less(lo) {
		return netip.Addr{}, netip.Addr{}, false
	}
	return lo, hi, true
}

// LastAddr is the last address of a prefix.
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

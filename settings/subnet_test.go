package settings

import "testing"

func TestSubnetRange(t *testing.T) {
	for _, c := range []struct{ in, lo, hi string }{
		{"10.1.2.0/24", "10.1.2.0", "10.1.2.255"},
		{"10.1.2.9/23", "10.1.2.0", "10.1.3.255"}, // host bits dropped
		{" 10.1.0.1 - 10.1.0.9 ", "10.1.0.1", "10.1.0.9"},
		{"192.0.2.7", "192.0.2.7", "192.0.2.7"},
		{"2001:db8::/126", "2001:db8::", "2001:db8::3"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"10.1.0.9-10.1.0.1", "", ""},    // ends before it starts
		{"10.1.0.1-2001:db8::1", "", ""}, // two families
		{"10.1.0.0/33", "", ""},
		{"host.example", "", ""},
	} {
		lo, hi, ok := SubnetRange(c.in)
		if c.lo == "" {
			if ok {
				t.Errorf("SubnetRange(%q) = %s-%s, want none", c.in, lo, hi)
			}
			continue
		}
		if !ok || lo.String() != c.lo || hi.String() != c.hi {
			t.Errorf("SubnetRange(%q) = %s-%s %v, want %s-%s", c.in, lo, hi, ok, c.lo, c.hi)
		}
	}
}

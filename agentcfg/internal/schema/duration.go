package schema

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

var units = map[string]float64{
	"ns": float64(time.Nanosecond),
	"us": float64(time.Microsecond),
	"µs": float64(time.Microsecond),
	"ms": float64(time.Millisecond),
	"s":  float64(time.Second),
	"m":  float64(time.Minute),
	"h":  float64(time.Hour),
	"d":  float64(24 * time.Hour),
}

// ParseDuration parses DeepFlow's duration syntax: Go's (e.g. "1h30m",
// "50us") plus a day unit ("30d"), which Go's time.ParseDuration lacks.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total float64
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '.' || (rest[i] >= '0' && rest[i] <= '9')) {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		j := i
		for j < len(rest) && !(rest[j] == '.' || (rest[j] >= '0' && rest[j] <= '9')) {
			j++
		}
		unit, ok := units[rest[i:j]]
		if !ok {
			return 0, fmt.Errorf("%q is not a duration (units: ns, us, ms, s, m, h, d)", s)
		}
		total += num * unit
		if total > math.MaxInt64 {
			return 0, fmt.Errorf("%q is too long", s)
		}
		rest = rest[j:]
	}
	return time.Duration(total), nil
}

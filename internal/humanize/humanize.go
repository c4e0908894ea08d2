// Package humanize formats quantities for people. It is a leaf: packages
// that only need to print a size need not import the engine for it.
package humanize

import "fmt"

// Bytes prints a byte count in binary units: 1.5 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Package profiles holds the embedded profile presets. A profile is data: a
// description and a settings layer over the built-in defaults.
package profiles

import "embed"

//go:embed *.yaml
var FS embed.FS

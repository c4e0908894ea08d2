// Package templates holds the embedded templates. Each X.tmpl renders the
// deployment file X; files whose name starts with "_" hold shared
// definitions only.
package templates

import "embed"

//go:embed *.tmpl .env.tmpl common agent
var FS embed.FS

package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
)

// Each function here quotes a value for one target format so that the
// format's own parser gives back exactly the value. The fuzz test reads
// every one of them back with a real parser.

// yamlString is a double-quoted YAML scalar. JSON's string escapes are a
// subset of YAML's double-quoted ones.
func yamlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// composeString is a YAML scalar for a compose file, where "$" starts an
// interpolation unless doubled.
func composeString(s string) string {
	return yamlString(strings.ReplaceAll(s, "$", "$$"))
}

// envValue quotes a .env value so that compose v2 (compose-go's dotenv)
// reads it back exactly, and so does legacy docker-compose v1
// (python-dotenv) whenever the two dialects share a spelling for it:
//   - no "$": double quotes, escaping backslash and quote, which both
//     decode the same way;
//   - "$" but no "'" or backslash: single quotes, literal in both;
//   - otherwise compose v2's double quotes with "\$".
//
// legacyEnvSafe tells which values python-dotenv reads differently; render
// warns about those.
func envValue(s string) string {
	if !strings.Contains(s, "$") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	if legacyEnvSafe(s) {
		return "'" + s + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`
}

// legacyEnvSafe reports whether docker-compose v1 reads envValue(s) back
// as s. python-dotenv (as Debian's 0.21 does) knows no "\$" escape,
// interpolates "${…}" even in single quotes with no way to escape it, and
// takes a backslash before the closing quote for an escaped quote.
func legacyEnvSafe(s string) bool {
	switch {
	case strings.Contains(s, "${"), strings.HasSuffix(s, `\`):
		return false
	case strings.Contains(s, "$"):
		return !strings.ContainsAny(s, `'\`)
	}
	return true
}

// xmlText escapes character data for an XML element.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// iniValue quotes a value for Grafana's INI reader, which treats "#" and
// ";" as the start of a comment and trims surrounding space unless the
// value is quoted.
func iniValue(s string) string {
	needs := s != strings.TrimSpace(s) || strings.ContainsAny(s, "#;\"`\\") || strings.HasPrefix(s, "'")
	if !needs {
		return s
	}
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return `"""` + s + `"""`
}

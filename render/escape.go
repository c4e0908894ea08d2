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

// envValue is a double-quoted .env value as compose reads it: backslash,
// quote and "$" are escaped, since double-quoted values are interpolated.
func envValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
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

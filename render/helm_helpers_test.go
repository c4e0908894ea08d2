package render

import (
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

func yamlUnmarshalString(v any, out any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%T is not a string", v)
	}
	return yaml.Unmarshal([]byte(s), out)
}

func equalYAML(a, b any) bool { return reflect.DeepEqual(a, b) }

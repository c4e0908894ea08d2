// Package findup finds a file of the repository from wherever a test or
// tool runs inside it: the working directory or one of its parents.
package findup

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path returns the first dir/rel that exists, dir being the working
// directory and then each of its parents in turn.
func Path(rel string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s not found above %s", rel, wd)
		}
	}
}

package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func FuzzParseStage(f *testing.F) {
	for _, s := range []string{
		"server is in stage: MySQL migration now, time cost: 31.2s",
		"server is in stage: Register routers init now",
		"server is in stage:  now, time cost: -1s",
		"server is in stage: a now now, time cost: 9223372036854775807ns",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stage, cost, ok := ParseStage(s)
		if ok && (stage == "" || !strings.Contains(s, stage)) {
			t.Errorf("%q: stage %q", s, stage)
		}
		if cost < 0 {
			t.Errorf("%q: negative cost %v", s, cost)
		}
	})
}

// FuzzAnswer feeds arbitrary bodies and statuses through the envelope
// decoding: it must never panic, and must return DATA or an *Error with a
// sentinel, never both or neither.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"OPT_STATUS":"SUCCESS","DESCRIPTION":"","DATA":null}`,
		`{"OPT_STATUS":"INVALID_POST_DATA","DESCRIPTION":"{\"Status\":\"RESOURCE_ALREADY_EXIST\",\"Message\":\"x\"}","DATA":null}`,
		`{"OPT_STATUS":"SUCCESS","DATA":[{"ID":"1","EXCEPTIONS":[1,2]}]}`,
		`404 page not found`,
		`{"OPT_STATUS":1}`,
		`{}`,
	} {
		f.Add(200, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		data, err := answer("GET", "/v1/vtaps/", status, body)
		if err != nil {
			e, ok := AsError(err)
			if !ok || e.Kind == nil || data != nil {
				t.Fatalf("err %v data %q", err, data)
			}
			_ = e.Error()
			_ = e.Message()
			sentinel := false
			for _, s := range []error{ErrNotFound, ErrNotReady, ErrRefused, ErrBadResponse} {
				sentinel = sentinel || errors.Is(err, s)
			}
			if !sentinel {
				t.Fatalf("no sentinel: %v", err)
			}
			return
		}
		if status != 200 {
			t.Fatalf("status %d accepted", status)
		}
		_, _ = decodeList[Vtap]("GET", "/v1/vtaps/", data)
		_, _ = decodeList[Vinterface]("GET", "/v1/sync/vinterface/", data)
		_, _ = decodeList[Domain]("GET", "/v2/domains/", data)
	})
}

func FuzzInt(f *testing.F) {
	for _, s := range []string{`1`, `"2"`, `true`, `null`, `3.5`, `""`, `"x"`, `1e400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var i Int
		_ = json.Unmarshal([]byte(s), &i)
	})
}

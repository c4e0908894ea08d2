// Command apistandin serves the apitest STAND-IN of deepflow-server's
// controller HTTP API on one port, for the stand-in deepflow-server image.
// It is not DeepFlow. Group configs are checked with agentcfg's schema, so
// a config the real server would refuse is refused here too.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	// The stand-in image has no zoneinfo; SYNCED_AT is written in the
	// server's TZ, as the real server writes it.
	_ "time/tzdata"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "apistandin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	addrs, h, err := setup(args)
	if err != nil {
		return err
	}
	errs := make(chan error, len(addrs))
	for _, addr := range addrs {
		fmt.Fprintf(os.Stderr, "apistandin: deepflow-server controller API STAND-IN (not DeepFlow) on %s\n", addr)
		s := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		// HTTP/2 without TLS as well: on the gRPC port a readiness probe
		// sends HTTP/2's preface and wants the server's SETTINGS back, as
		// from a real gRPC server; the stand-in agent speaks HTTP/1 there.
		s.Protocols = new(http.Protocols)
		s.Protocols.SetHTTP1(true)
		s.Protocols.SetUnencryptedHTTP2(true)
		go func() { errs <- s.ListenAndServe() }()
	}
	return <-errs
}

// setup parses the flags and builds the handler; it returns every address
// to serve it on.
func setup(args []string) ([]string, http.Handler, error) {
	fs := flag.NewFlagSet("apistandin", flag.ContinueOnError)
	listen := fs.String("listen", ":"+strconv.Itoa(topology.Builtin(topology.Controller)), "address to serve the stand-in controller API on")
	notReady := fs.Int("not-ready", 3, "health probes answered 503 before ready; negative: never ready")
	stage := fs.String("stage", "", "pin the start-up stage shown while not ready")
	legacy := fs.Bool("legacy", false, "act as a server older than v6.6.9 (legacy group-config API only)")
	state := fs.String("state", "", "JSON file to seed the state from and keep it in across restarts")
	readyFile := fs.String("ready-file", "", "ready while this file exists (replaces -not-ready)")
	stageFile := fs.String("stage-file", "", "file holding the stage to show while not ready")
	probesFile := fs.String("probes-file", "", "file counting the health probes, for scripts that wait on them")
	agentRoute := fs.Bool("agent-route", false, "serve the stand-in-only POST /v1/vtaps/standin/ through which the stand-in agent registers")
	syncDomains := fs.Bool("sync-domains", false, "stamp agent_sync domains as synced now on every read, as a running genesis would")
	also := fs.String("also-listen", "", "a second address to serve the same API on (the stand-in image's gRPC port, where its agent registers)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := apitest.Options{
		NotReady:             *notReady,
		Stage:                *stage,
		Legacy:               *legacy,
		AgentRoute:           *agentRoute,
		SyncDomains:          *syncDomains,
		ValidateConfig:       func(b []byte) error { return deepflowWording(agentcfg.Validate(agentcfg.Sectioned, b)) },
		ValidateLegacyConfig: func(b []byte) error { return deepflowWording(agentcfg.Validate(agentcfg.Legacy, b)) },
	}
	if *readyFile != "" {
		o.Ready = func() bool { _, err := os.Stat(*readyFile); return err == nil }
	}
	if *stageFile != "" {
		o.StageOf = func() string {
			b, _ := os.ReadFile(*stageFile)
			return strings.TrimSpace(string(b))
		}
	}
	if *probesFile != "" {
		o.OnProbe = func() {
			b, _ := os.ReadFile(*probesFile)
			n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			_ = os.WriteFile(*probesFile, []byte(strconv.Itoa(n+1)+"\n"), 0o644)
		}
	}
	srv := apitest.New(o)
	if *state != "" {
		b, err := os.ReadFile(*state)
		switch {
		case err == nil:
			var st apitest.State
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", *state, err)
			}
			srv.Restore(st)
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, err
		}
		srv.OnChange(func(st apitest.State) {
			if err := save(*state, st); err != nil {
				fmt.Fprintln(os.Stderr, "apistandin: saving state:", err)
			}
		})
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Deepflow-Compose-Standin", "true")
		srv.ServeHTTP(w, r)
	})
	addrs := []string{*listen}
	if *also != "" {
		addrs = append(addrs, *also)
	}
	return addrs, h, nil
}

// deepflowWording reports the first problem, as the server does, and an
// unknown key in the server's words.
func deepflowWording(err error) error {
	var es agentcfg.Errors
	if !errors.As(err, &es) || len(es) == 0 {
		return err
	}
	if errors.Is(es[0], agentcfg.ErrUnknownKey) {
		return apitest.UnknownKeyError{Path: es[0].Path}
	}
	return es[0]
}

// save writes atomically so a restart never reads half a file.
func save(path string, st apitest.State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".apistandin-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Command standin builds stand-in images for a rendered deployment on the
// Docker engine DOCKER_HOST names: busybox images, labelled
// io.deepflow-compose.standin=true, under every image name the deployment's
// compose file asks for. They answer the readiness probes on the rendered
// ports so `deepflow-compose up` can be tried where no registry is
// reachable. The server stand-in serves the controller API stand-in
// (api/apitest), so bootstrap and doctor work against it, and the agent
// stand-in registers with it. They are not DeepFlow.
//
//	go run ./engine/standin/cmd/standin DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

func main() {
	var o standin.Options
	never := flag.String("never-ready", "", "comma-separated roles that never get ready (mysql, clickhouse, deepflow-server, deepflow-app, grafana)")
	flag.IntVar(&o.Health503, "health-503", 0, "health probes the server stand-in answers 503 to before it turns ready")
	flag.StringVar(&o.Busybox, "busybox", standin.DefaultBusybox, "static busybox binary")
	flag.StringVar(&o.APIStandin, "api-standin", "", "static apistandin binary for the server's controller API stand-in (default: go build it, from inside this module)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: standin [flags] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *never != "" {
		o.NeverReady = strings.Split(*never, ",")
	}
	if err := run(flag.Arg(0), o); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(dir string, o standin.Options) error {
	ctx := context.Background()
	s, err := engine.Load(dir)
	if err != nil {
		return err
	}
	e, err := engine.New(engine.Options{Progress: engine.ProgressQuiet})
	if err != nil {
		return err
	}
	defer e.Close()
	images, err := e.Images(ctx, s)
	if err != nil {
		return err
	}
	id, err := standin.Build(ctx, e.API(), images, o)
	if err != nil {
		return err
	}
	fmt.Printf("stand-in image %s (not DeepFlow) tagged as:\n", id)
	for _, img := range images {
		fmt.Println("  " + img)
	}
	return nil
}

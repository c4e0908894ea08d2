// Command standin builds stand-in images for a rendered deployment on the
// Docker engine DOCKER_HOST names: busybox images, labelled
// io.deepflow-compose.standin=true, under every image name the deployment
// uses, the agent's included. They answer the readiness probes on the rendered
// ports so `deepflow-compose up` can be tried where no registry is
// reachable. The server stand-in serves the controller API stand-in
// (api/apitest), so bootstrap and doctor work against it, and the agent
// stand-in registers with it. They are not DeepFlow.
//
// With --mariadb, the MySQL image name gets the MariaDB stand-in of the
// database engine instead (Debian's mariadb-server; building its root
// filesystem the first time needs root and a few minutes).
//
//	go run ./engine/standin/cmd/standin [--mariadb] DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

var mariadb bool

func main() {
	var o standin.Options
	never := flag.String("never-ready", "", "comma-separated roles that never get ready (mysql, clickhouse, deepflow-server, deepflow-app, grafana)")
	flag.IntVar(&o.Health503, "health-503", 0, "health probes the server stand-in answers 503 to before it turns ready")
	flag.StringVar(&o.Busybox, "busybox", standin.DefaultBusybox, "static busybox binary")
	flag.BoolVar(&mariadb, "mariadb", false, "run MySQL on the MariaDB stand-in of the database engine")
	flag.BoolVar(&o.ReplaceReal, "replace-real", false, "take image names that real images hold on this engine (they stop being used)")
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
	// Every image the render pins, the agent's too: the agent's compose
	// file and an agent service of the main one then start as well.
	images, err := e.AllImages(ctx, s)
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
	if !mariadb {
		return nil
	}
	byService, err := e.ServiceImages(ctx, s)
	if err != nil {
		return err
	}
	mysql := byService[s.Topology.MySQL.Service]
	if mysql == "" {
		return fmt.Errorf("%s: service %s names no image", topology.Compose, s.Topology.MySQL.Service)
	}
	rootfs, err := standin.MariaDBRootfs(ctx)
	if err != nil {
		return err
	}
	if id, err = standin.BuildMariaDB(ctx, e.API(), rootfs, []string{mysql}); err != nil {
		return err
	}
	fmt.Printf("MariaDB stand-in of the database engine %s (not MySQL) tagged as:\n  %s\n", id, mysql)
	return nil
}

// Command sandbox-testnode runs the test node agent (package kubenode) as a process: a stand-in
// kubelet for a kube-apiserver without nodes, running sandbox pods as local sandboxes at pod IPs in
// 127.0.0.0/8. It needs root and bubblewrap, as the local runtime does.
//
//	sandbox-testnode --kubeconfig admin.kubeconfig --state-dir /tmp/node --envd-bin bin/envd
//
// SIGTERM or SIGINT stops it and every sandbox it runs; with --keep-sandboxes they keep running and the
// next sandbox-testnode over the same --state-dir adopts them (a kubelet restart).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-testnode:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of a user that may bind pods, update pod status and write Nodes and Leases")
		nodeName   = flag.String("node-name", kubenode.DefaultNodeName, "Node to register")
		namespace  = flag.String("namespace", "", "only handle pods of this namespace (default: all)")
		stateDir   = flag.String("state-dir", "", "the local runtime's state directory (required)")
		envdBin    = flag.String("envd-bin", os.Getenv("ENVD_BIN"), "envd binary (required)")
		binDir     = flag.String("bin-dir", "", "directory of the templates' binaries (default: envd's directory)")
		keep       = flag.Bool("keep-sandboxes", false, "leave sandboxes running on exit, for the next agent to adopt")
		logLevel   = flag.String("log-level", "info", "debug, info, warn or error")
	)
	flag.Parse()
	if *kubeconfig == "" || *stateDir == "" || *envdBin == "" {
		return fmt.Errorf("--kubeconfig, --state-dir and --envd-bin are required")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	restCfg.QPS, restCfg.Burst = 200, 400

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	agent, err := kubenode.Start(startCtx, kubenode.Config{
		RESTConfig: restCfg, NodeName: *nodeName, Namespace: *namespace,
		StateDir: *stateDir, EnvdBin: *envdBin, BinDir: *binDir, Logger: log,
	})
	cancel()
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("sandbox-testnode: stopping")
	if *keep {
		return agent.Close()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return agent.Shutdown(shutdownCtx)
}

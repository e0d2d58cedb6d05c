// Command kube-testenv starts a test Kubernetes control plane for suites outside Go (the JS e2e
// suite): etcd and kube-apiserver on loopback (package kubeharness), the repository's CRDs, and the
// test node agent (package kubenode) that runs sandbox pods as local sandboxes. When everything is
// ready it prints one JSON line on stdout:
//
//	{"kubeconfig":"/path/admin.kubeconfig","apiserver":"https://127.0.0.1:PORT","node":"sandbox-testnode","dir":"..."}
//
// and runs until SIGTERM, SIGINT or the end of its stdin (so a parent that dies takes it along), then
// stops the node's sandboxes, the API server and etcd. Logs go to stderr. The node needs root and
// bubblewrap; kube-apiserver comes from `make kube-apiserver`.
//
// --controller-manager adds kube-controller-manager (Deployments, garbage collection, service account
// tokens), --load-balancer the load-balancer stand-in for Services of type LoadBalancer, and
// --manager-bin makes the node run pods of the image <registry>/sandbox-manager:<tag> as that binary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubenode"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-testenv:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig = flag.String("kubeconfig", "", "write the admin kubeconfig here (default: <dir>/admin.kubeconfig)")
		dir        = flag.String("dir", "", "directory for certificates, logs and kubeconfigs (default: a temporary one, removed on exit)")
		manifests  = flag.String("manifests", "", "comma-separated manifest files or directories to apply (default: the repository's deploy/crds)")
		noNode     = flag.Bool("no-node", false, "do not start the test node agent")
		nodeName   = flag.String("node-name", kubenode.DefaultNodeName, "Node the agent registers")
		stateDir   = flag.String("state-dir", "", "the node's local runtime state directory (default: a temporary one, removed on exit)")
		envdBin    = flag.String("envd-bin", os.Getenv("ENVD_BIN"), "envd binary for the node (required unless --no-node)")
		binDir     = flag.String("bin-dir", "", "directory of the templates' binaries (default: envd's directory)")
		stdinStop  = flag.Bool("exit-on-stdin-close", true, "stop when stdin reaches its end")
		logLevel   = flag.String("log-level", "info", "debug, info, warn or error")
		ctrlMgr    = flag.Bool("controller-manager", false, "also run kube-controller-manager (built by make kube-apiserver)")
		lb         = flag.Bool("load-balancer", false, "give Services of type LoadBalancer a loopback address forwarding to their ready pods")
		managerBin = flag.String("manager-bin", "", "run pods of the image <registry>/"+kubenode.ManagerImageName+":<tag> as this sandbox-manager binary")
	)
	flag.Parse()
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if !*noNode && *envdBin == "" {
		return fmt.Errorf("--envd-bin (or ENVD_BIN) is required for the node; build it with `make build`")
	}
	if *kubeconfig != "" {
		abs, err := filepath.Abs(*kubeconfig)
		if err != nil {
			return err
		}
		*kubeconfig = abs
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *stdinStop {
		stdinDone, cancel := context.WithCancel(ctx)
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
		ctx = stdinDone
	}

	opts := kubeharness.Options{Dir: *dir, KubeconfigPath: *kubeconfig, Logger: log,
		ControllerManager: *ctrlMgr, LoadBalancer: *lb}
	if *manifests != "" {
		opts.Manifests = strings.Split(*manifests, ",")
	}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	began := time.Now()
	cluster, err := kubeharness.Launch(startCtx, opts)
	if err != nil {
		return err
	}
	defer cluster.Stop()

	node := ""
	if !*noNode {
		sd := *stateDir
		if sd == "" {
			if sd, err = os.MkdirTemp("", "kube-testenv-node-"); err != nil {
				return err
			}
			// Removed after the agent's Shutdown has unmounted every sandbox (defers run in reverse).
			defer os.RemoveAll(sd)
		}
		var programs map[string]string
		if *managerBin != "" {
			abs, err := filepath.Abs(*managerBin)
			if err != nil {
				return err
			}
			programs = map[string]string{kubenode.ManagerImageName: abs}
		}
		agent, err := kubenode.Start(startCtx, kubenode.Config{
			RESTConfig: cluster.RESTConfig(), NodeName: *nodeName, StateDir: sd,
			EnvdBin: *envdBin, BinDir: *binDir, Logger: log, Programs: programs,
		})
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := agent.Shutdown(ctx); err != nil {
				log.Error("kube-testenv: node shutdown", "err", err)
			}
		}()
		node = agent.NodeName()
	}
	log.Info("kube-testenv: ready", "took", time.Since(began).Round(time.Millisecond))
	line, err := json.Marshal(map[string]string{
		"kubeconfig": cluster.Kubeconfig(), "apiserver": cluster.URL(), "node": node, "dir": cluster.Dir(),
	})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	<-ctx.Done()
	log.Info("kube-testenv: stopping")
	return nil
}

// Command ali-fakes starts the Alibaba Cloud API fakes on loopback and prints the shell exports that
// point the provider (or any v1 SDK client) at them:
//
//	eval "$(go run ./internal/testing/alifake/cmd/ali-fakes -ali-domains example.test -kube-harness &)"
//
// With -kube-harness it also starts a real etcd + kube-apiserver (package kubeharness; build it with
// `make kube-apiserver`) whose admin kubeconfig the CS fake hands out, unless -ali-kubeconfig names one.
// It runs until interrupted.
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

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ali-fakes:", err)
		os.Exit(1)
	}
}

func run() error {
	fl := alifake.RegisterFlags(flag.CommandLine, "ali-")
	harness := flag.Bool("kube-harness", false, "start a real kube-apiserver and hand out its kubeconfig")
	flag.Parse()
	opts, err := fl.Options()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *harness && opts.Kubeconfig == nil {
		startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cluster, err := kubeharness.Launch(startCtx, kubeharness.Options{Logger: log})
		cancel()
		if err != nil {
			return err
		}
		defer cluster.Stop()
		opts.Kubeconfig = alifake.KubeconfigFile(cluster.Kubeconfig())
		fmt.Printf("export KUBECONFIG='%s'\n", cluster.Kubeconfig())
	}
	f, err := alifake.Start(opts)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Print(f.Describe())
	<-ctx.Done()
	return nil
}

// Command cloud-fakes runs the project's cloud API fakes on loopback until interrupted, and prints the
// shell exports that point SDKs, the AWS CLI and the Terraform provider at them:
//
//	eval "$(go run ./internal/testing/cloudfakes/cmd/cloud-fakes -clouds aws &)"   # or copy the lines
//
// The Alibaba Cloud fakes (cloud "alicloud", flags -ali-*) print ALIBABA_CLOUD_ENDPOINT_<PRODUCT>,
// the AccessKey pair and the region; -ali-kubeconfig names the kubeconfig their CS fake hands out.
//
// Each cloud registers its own flags (prefixed with its name), so another cloud's fakes plug in as one more
// entry in the clouds table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/alifake"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

// running is a started cloud's fakes.
type running interface {
	Env() []string
	Close() error
}

// cloud registers its flags on fs and returns the function that starts it with their parsed values.
type cloud func(fs *flag.FlagSet) func(host string, log *slog.Logger) (running, error)

var clouds = map[string]cloud{
	"aws":      awsCloud,
	"alicloud": aliCloud,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cloud-fakes:", err)
		stop()
		os.Exit(1)
	}
}

// run starts the chosen fakes, prints their exports, and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cloud-fakes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := make([]string, 0, len(clouds))
	for name := range clouds {
		names = append(names, name)
	}
	sort.Strings(names)
	which := fs.String("clouds", strings.Join(names, ","), "comma-separated clouds to fake: "+strings.Join(names, ", "))
	host := fs.String("host", "127.0.0.1", "loopback address to listen on (ports are chosen by the kernel)")
	envFile := fs.String("env-file", "", "also write the export lines to this file")
	verbose := fs.Bool("v", false, "log every request to stderr")
	starters := map[string]func(string, *slog.Logger) (running, error){}
	for name, c := range clouds {
		starters[name] = c(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ip := net.ParseIP(*host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-host %q: the fakes listen on a loopback address only", *host)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var started []running
	defer func() {
		for _, r := range started {
			r.Close()
		}
	}()
	var exports strings.Builder
	for _, name := range strings.Split(*which, ",") {
		name = strings.TrimSpace(name)
		start, ok := starters[name]
		if !ok {
			return fmt.Errorf("-clouds: unknown cloud %q (have %s)", name, strings.Join(names, ", "))
		}
		r, err := start(*host, log.With("cloud", name))
		if err != nil {
			return fmt.Errorf("start %s fakes: %w", name, err)
		}
		started = append(started, r)
		for _, kv := range r.Env() {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(&exports, "export %s=%s\n", k, shellQuote(v))
		}
	}
	if _, err := io.WriteString(stdout, exports.String()); err != nil {
		return err
	}
	if *envFile != "" {
		if err := os.WriteFile(*envFile, []byte(exports.String()), 0o600); err != nil {
			return fmt.Errorf("write -env-file: %w", err)
		}
	}
	log.Warn("cloud fakes running; interrupt to stop", "clouds", *which)
	<-ctx.Done()
	return nil
}

// shellQuote quotes v for POSIX shells unless it is plainly safe.
func shellQuote(v string) string {
	safe := v != ""
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=@,+", c)) {
			safe = false
		}
	}
	if safe {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// throttleFlag collects repeated -aws-throttle Action=N values.
type throttleFlag map[string]int

func (t throttleFlag) String() string { return fmt.Sprint(map[string]int(t)) }

func (t throttleFlag) Set(v string) error {
	action, n, ok := strings.Cut(v, "=")
	count, err := strconv.Atoi(n)
	if !ok || action == "" || err != nil || count < 0 {
		return errors.New("want Action=N, e.g. DescribeVpcs=2")
	}
	t[action] = count
	return nil
}

func awsCloud(fs *flag.FlagSet) func(string, *slog.Logger) (running, error) {
	opts := awsfake.Options{}
	fs.StringVar(&opts.Region, "aws-region", awsfake.DefaultRegion, "AWS region the EC2 fake serves")
	fs.StringVar(&opts.AccountID, "aws-account-id", awsfake.DefaultAccountID, "AWS account ID")
	fs.StringVar(&opts.AccessKeyID, "aws-access-key-id", awsfake.DefaultAccessKeyID, "the access key ID the fakes accept")
	fs.StringVar(&opts.SecretAccessKey, "aws-secret-access-key", awsfake.DefaultSecretAccessKey, "the secret the fakes check signatures with")
	f := &opts.Faults
	fs.IntVar(&f.NotFoundReads, "aws-not-found-reads", 0, "new VPCs, subnets, groups and rules are NotFound for this many describes")
	fs.IntVar(&f.SubnetPendingReads, "aws-subnet-pending-reads", 0, "new subnets stay pending for this many describes")
	fs.IntVar(&f.ThrottleEvery, "aws-throttle-every", 0, "throttle every Kth request (0: never)")
	fs.StringVar(&f.Route53ThrottleCode, "aws-route53-throttle-code", "PriorRequestNotComplete", "Route 53 throttling code: PriorRequestNotComplete or Throttling")
	fs.BoolVar(&f.DependencyViolationOnFirstDelete, "aws-dependency-violation-on-first-delete", false, "fail the first delete of each VPC, subnet and group with DependencyViolation")
	fs.IntVar(&f.ChangePendingReads, "aws-change-pending-reads", 0, "Route 53 GetChange answers PENDING for this many reads")
	fs.DurationVar(&f.ChangePendingFor, "aws-change-pending-for", 0, "Route 53 GetChange answers PENDING for this long after a change")
	throttle := throttleFlag{}
	fs.Var(throttle, "aws-throttle", "throttle the next N calls of an action, Action=N (repeatable)")
	return func(host string, log *slog.Logger) (running, error) {
		if c := f.Route53ThrottleCode; c != "PriorRequestNotComplete" && c != "Throttling" {
			return nil, fmt.Errorf("-aws-route53-throttle-code %q: want PriorRequestNotComplete or Throttling", c)
		}
		opts.Host, opts.Logger, opts.Now = host, log, time.Now
		s, err := awsfake.Start(opts)
		if err != nil {
			return nil, err
		}
		for action, n := range throttle {
			s.ThrottleNext(action, n)
		}
		return s, nil
	}
}

// aliRunning adapts the Alibaba Cloud fakes to running.
type aliRunning struct{ *alifake.Fake }

func (a aliRunning) Env() []string {
	var env []string
	for _, e := range a.Fake.Env() {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

func (a aliRunning) Close() error {
	a.Fake.Close()
	return nil
}

func aliCloud(fs *flag.FlagSet) func(string, *slog.Logger) (running, error) {
	fl := alifake.RegisterFlags(fs, "ali-")
	return func(host string, log *slog.Logger) (running, error) {
		opts, err := fl.Options()
		if err != nil {
			return nil, fmt.Errorf("-ali-* flags: %w", err)
		}
		opts.Host, opts.Logger = host, log
		f, err := alifake.Start(opts)
		if err != nil {
			return nil, err
		}
		return aliRunning{f}, nil
	}
}

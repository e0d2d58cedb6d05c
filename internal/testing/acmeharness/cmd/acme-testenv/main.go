// Command acme-testenv runs the test ACME CA (Pebble) and its DNS server (challtestsrv) of package
// acmeharness on loopback, for trying the examples by hand or for suites outside Go. When ready it
// writes the CA's root (what issued certificates verify against) and the CA servers' own TLS
// certificate to files and prints one JSON line on stdout:
//
//	{"directory":"https://127.0.0.1:14000/dir","management":"https://127.0.0.1:15000",
//	 "dns":"127.0.0.1:8053","records":"http://127.0.0.1:8055",
//	 "root_ca":"/path/pebble-root.pem","server_ca":"/path/pebble-server-ca.pem"}
//
// Clients of the directory must trust server_ca (for lego: LEGO_CA_CERTIFICATES=<server_ca>).
// DNS-01 records reach the DNS server through the records API (see acmeharness.RecordsHandler;
// the cloud fakes publish there with acmeharness.RemoteSink), e.g.
//
//	curl -d '{"host":"_acme-challenge.x.test.","value":"..."}' http://127.0.0.1:8055/set-txt
//
// It runs until SIGTERM, SIGINT or, with --exit-on-stdin-close, the end of its stdin. Logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/acmeharness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "acme-testenv:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		acmeAddr    = flag.String("acme-addr", "127.0.0.1:14000", "listen address of the ACME server (HTTPS)")
		mgmtAddr    = flag.String("management-addr", "127.0.0.1:15000", "listen address of Pebble's management interface (HTTPS)")
		dnsAddr     = flag.String("dns-addr", "127.0.0.1:8053", "listen address of the DNS server (UDP and TCP)")
		recordsAddr = flag.String("records-addr", "127.0.0.1:8055", "listen address of the records API (HTTP)")
		dir         = flag.String("dir", ".", "directory for the PEM files")
		validity    = flag.Duration("validity", acmeharness.DefaultValidity, "validity of certificates of the \"default\" profile")
		shortLived  = flag.Duration("shortlived", 0, "also offer a \"shortlived\" profile with this validity (orders must then name a profile)")
		retryAfter  = flag.Duration("retry-after", time.Second, "Retry-After the CA sends for authorizations and orders")
		vaSleep     = flag.Bool("va-sleep", false, "sleep up to 5 s before each validation, as Pebble does by default")
		nonceReject = flag.Int("nonce-reject", 0, "percentage of good nonces to reject")
		authzReuse  = flag.Int("authz-reuse", 0, "percentage of orders that reuse a valid authorization")
		stdinStop   = flag.Bool("exit-on-stdin-close", false, "stop when stdin reaches its end")
		verbose     = flag.Bool("v", false, "log Pebble's and challtestsrv's own lines")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	profiles := map[string]acmeharness.Profile{acmeharness.DefaultProfile: {Description: "default profile", Validity: *validity}}
	if *shortLived > 0 {
		profiles["shortlived"] = acmeharness.Profile{Description: "short-lived certificates", Validity: *shortLived}
	}
	var libLog io.Writer
	if *verbose {
		libLog = os.Stderr
	}
	h, err := acmeharness.Start(acmeharness.Options{
		Profiles:           profiles,
		RetryAfter:         *retryAfter,
		VASleep:            *vaSleep,
		NonceRejectPercent: *nonceReject,
		AuthzReusePercent:  *authzReuse,
		ACMEAddr:           *acmeAddr,
		ManagementAddr:     *mgmtAddr,
		DNSAddr:            *dnsAddr,
		Log:                libLog,
	})
	if err != nil {
		return err
	}
	defer h.Close()

	records, err := net.Listen("tcp", *recordsAddr)
	if err != nil {
		return fmt.Errorf("records API: %w", err)
	}
	recordsSrv := &http.Server{Handler: h.RecordsHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := recordsSrv.Serve(records); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("records API", "error", err)
		}
	}()
	defer recordsSrv.Close()

	rootPath, err := writePEM(*dir, "pebble-root.pem", h.RootPEM())
	if err != nil {
		return err
	}
	serverCAPath, err := writePEM(*dir, "pebble-server-ca.pem", h.ServerCAPEM())
	if err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{
		"directory":  h.DirectoryURL(),
		"management": h.ManagementURL(),
		"dns":        h.DNSAddr(),
		"records":    "http://" + records.Addr().String(),
		"root_ca":    rootPath,
		"server_ca":  serverCAPath,
	}); err != nil {
		return err
	}
	log.Info("ready", "directory", h.DirectoryURL(), "dns", h.DNSAddr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *stdinStop {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	<-ctx.Done()
	log.Info("stopping")
	return nil
}

func writePEM(dir, name string, data []byte) (string, error) {
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return path, nil
}

package acme_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme"
)

// How a Terraform resource uses the package: obtain on create, renew on update when due, revoke on
// destroy. dnsClient is the provider's Route 53 or Alidns client, implementing acme.TXTWriter.
func Example() {
	var dnsClient acme.TXTWriter // the provider's own Route 53 or Alidns client
	ctx := context.Background()
	server := acme.Server{DirectoryURL: "https://acme-staging-v02.api.letsencrypt.org/directory"}

	req := acme.Request{
		Server:  server,
		Email:   "ops@example.com",
		Names:   []string{"*.example.com", "example.com"},
		KeyType: acme.KeyP256,
		DNS:     dnsClient,
	}
	cert, err := acme.Obtain(ctx, req)
	var cleanup *acme.CleanupError
	switch {
	case errors.As(err, &cleanup):
		log.Printf("warning: %v", cleanup) // the certificate is good; some TXT records remain
	case err != nil:
		var ce *acme.ChallengeError
		if errors.As(err, &ce) {
			log.Printf("%s was not validated: %s", ce.Name, ce.Detail)
		}
		log.Fatal(err)
	}
	// Keep cert.AccountKeyPEM (sensitive) and use it for every later call.
	req.AccountKeyPEM = cert.AccountKeyPEM

	if acme.ShouldRenew(cert.NotAfter, 30, time.Now()) {
		if cert, err = acme.Renew(ctx, req, cert.CertificatePEM, nil); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(cert.Names, cert.Serial, cert.NotAfter)

	superseded := uint(4)
	err = acme.Revoke(ctx, acme.RevokeRequest{Server: server, AccountKeyPEM: cert.AccountKeyPEM, CertificatePEM: cert.CertificatePEM, Reason: &superseded})
	if err != nil {
		log.Fatal(err)
	}
}

package acmeresource

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// durationValidator accepts positive Go durations ("90s", "5m").
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return `value must be a positive duration such as "90s" or "5m"`
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration",
			"Expected a positive duration such as \"90s\" or \"5m\", got "+req.ConfigValue.String()+".")
	}
}

// hostPortValidator accepts "host:port".
type hostPortValidator struct{}

func (hostPortValidator) Description(context.Context) string {
	return `value must be host:port, such as "1.1.1.1:53"`
}

func (v hostPortValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (hostPortValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if host, port, err := net.SplitHostPort(req.ConfigValue.ValueString()); err != nil || host == "" || port == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Name Server",
			"Expected host:port such as \"1.1.1.1:53\" or \"[2606:4700:4700::1111]:53\", got "+req.ConfigValue.String()+".")
	}
}

// pemCertificatesValidator accepts one or more PEM certificates.
type pemCertificatesValidator struct{}

func (pemCertificatesValidator) Description(context.Context) string {
	return "value must hold PEM certificates"
}

func (v pemCertificatesValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (pemCertificatesValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseCertificates(req.ConfigValue.ValueString()); err != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CA Certificates", err)
	}
}

// parseCertificates reads a PEM bundle; the error is a sentence for a diagnostic.
func parseCertificates(s string) ([]*x509.Certificate, string) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, "Expected only CERTIFICATE PEM blocks, found a " + block.Type + " block."
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, "A CERTIFICATE block does not parse: " + err.Error() + "."
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, "Expected one or more PEM certificates (-----BEGIN CERTIFICATE-----), found none."
	}
	return out, ""
}

// privateKeyValidator accepts a PEM private key.
type privateKeyValidator struct{}

func (privateKeyValidator) Description(context.Context) string {
	return "value must be a PEM private key"
}

func (v privateKeyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (privateKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := certcrypto.ParsePEMPrivateKey([]byte(req.ConfigValue.ValueString())); err != nil {
		// The error never quotes the key.
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Account Key",
			"Expected a PEM private key (PKCS #1, SEC 1 or PKCS #8; ECDSA, RSA or Ed25519), for example tls_private_key's "+
				"private_key_pem: the value does not parse as one.")
	}
}

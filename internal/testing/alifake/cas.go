package alifake

import (
	"cmp"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

type certificate struct {
	meta
	id            int64
	name          string
	certPEM       string
	keyPEM        string
	leaf          *x509.Certificate
	fingerprint   string
	algorithm     string
	resourceGroup string
	sans          string
}

var casActions = map[string]rpcAction{
	"UploadUserCertificate":    uploadUserCertificate,
	"GetUserCertificateDetail": getUserCertificateDetail,
	"DeleteUserCertificate":    deleteUserCertificate,
	"ListUserCertificateOrder": listUserCertificateOrder,
}

func certNotFound(id string) *apiError {
	return errorf(http.StatusBadRequest, "NotFound", "The certificate %s does not exist.", id)
}

// parseCertificate reads the PEM chain (leaf first) and the PEM private key and checks that they belong
// together, as CAS does before it stores an upload.
func parseCertificate(certPEM, keyPEM string) (*x509.Certificate, string, *apiError) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", errorf(http.StatusBadRequest, "InvalidCert.Format", "The certificate is not a PEM encoded X.509 certificate.")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", errorf(http.StatusBadRequest, "InvalidCert.Format", "The certificate cannot be parsed: %v.", err)
	}
	kb, _ := pem.Decode([]byte(keyPEM))
	if kb == nil {
		return nil, "", errorf(http.StatusBadRequest, "InvalidKey.Format", "The private key is not PEM encoded.")
	}
	var key crypto.Signer
	switch kb.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "PRIVATE KEY":
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
			var ok bool
			if key, ok = k.(crypto.Signer); !ok {
				return nil, "", errorf(http.StatusBadRequest, "InvalidKey.Format", "The private key type is not supported.")
			}
		}
	default:
		return nil, "", errorf(http.StatusBadRequest, "InvalidKey.Format", "The PEM block %q is not a private key.", kb.Type)
	}
	if err != nil {
		return nil, "", errorf(http.StatusBadRequest, "InvalidKey.Format", "The private key cannot be parsed: %v.", err)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, "", errorf(http.StatusBadRequest, "CertificateKeyNotMatch", "The certificate and the private key do not match.")
	}
	algorithm := "RSA"
	if leaf.PublicKeyAlgorithm == x509.ECDSA {
		algorithm = "ECC"
	}
	return leaf, algorithm, nil
}

func uploadUserCertificate(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	name := c.p["Name"]
	if name == "" {
		return nil, missingParam("Name")
	}
	if c.p["Cert"] == "" {
		return nil, missingParam("Cert")
	}
	if c.p["Key"] == "" {
		return nil, missingParam("Key")
	}
	for _, other := range s.certs {
		if other.name == name {
			return nil, errorf(http.StatusBadRequest, "NameRepeat", "A certificate named %q already exists.", name)
		}
	}
	leaf, algorithm, e := parseCertificate(c.p["Cert"], c.p["Key"])
	if e != nil {
		return nil, e
	}
	sum := sha1.Sum(leaf.Raw)
	sans := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		sans = append(sans, ip.String())
	}
	s.nextCert++
	cert := &certificate{meta: s.newMeta(), id: s.nextCert, name: name, certPEM: c.p["Cert"], keyPEM: c.p["Key"], leaf: leaf,
		fingerprint: strings.ToUpper(hex.EncodeToString(sum[:])), algorithm: algorithm, resourceGroup: c.p["ResourceGroupId"],
		sans: strings.Join(sans, ",")}
	s.certs[cert.id] = cert
	return map[string]any{"CertId": cert.id}, nil
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

func (s *state) lookupCert(idText string, read bool) (*certificate, *apiError) {
	if idText == "" {
		return nil, missingParam("CertId")
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return nil, invalidParam("CertId", idText)
	}
	cert, ok := s.certs[id]
	if !ok || read && !cert.visible() {
		return nil, certNotFound(idText)
	}
	return cert, nil
}

func (s *state) issuerName(cert *certificate) string {
	if org := first(cert.leaf.Issuer.Organization); org != "" {
		return org
	}
	return cert.leaf.Issuer.CommonName
}

func getUserCertificateDetail(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	cert, e := s.lookupCert(c.p["CertId"], true)
	if e != nil {
		return nil, e
	}
	filter, e := c.p.boolParam("CertFilter")
	if e != nil {
		return nil, e
	}
	leaf := cert.leaf
	out := map[string]any{
		"Id": cert.id, "Name": cert.name, "Common": leaf.Subject.CommonName, "Sans": cert.sans,
		"Issuer": s.issuerName(cert), "StartDate": leaf.NotBefore.UTC().Format("2006-01-02"),
		"EndDate": leaf.NotAfter.UTC().Format("2006-01-02"), "Fingerprint": cert.fingerprint,
		"Expired": f.clock.Now().After(leaf.NotAfter), "BuyInAliyun": false, "Algorithm": cert.algorithm,
		"OrgName": first(leaf.Subject.Organization), "Province": first(leaf.Subject.Province),
		"City": first(leaf.Subject.Locality), "Country": first(leaf.Subject.Country), "ResourceGroupId": cert.resourceGroup,
	}
	if filter == nil || !*filter { // CertFilter=true leaves out the PEM texts
		out["Cert"], out["Key"] = cert.certPEM, cert.keyPEM
	}
	return out, nil
}

func deleteUserCertificate(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	cert, e := f.st.lookupCert(c.p["CertId"], false)
	if e != nil {
		return nil, e
	}
	delete(f.st.certs, cert.id)
	return nil, nil
}

func listUserCertificateOrder(f *Fake, c *rpcCall) (map[string]any, *apiError) {
	s := f.st
	orderType := strings.ToUpper(c.p["OrderType"])
	if orderType == "" {
		orderType = "CPACK"
	}
	kw := strings.ToLower(c.p["Keyword"])
	var match []*certificate
	if orderType == "UPLOAD" || orderType == "CERT" {
		for _, cert := range s.certs {
			if kw != "" && !strings.Contains(strings.ToLower(cert.name), kw) &&
				!strings.Contains(strings.ToLower(cert.leaf.Subject.CommonName), kw) && !strings.Contains(strings.ToLower(cert.sans), kw) {
				continue
			}
			if cert.visible() {
				match = append(match, cert)
			}
		}
	}
	slices.SortFunc(match, func(a, b *certificate) int { return cmp.Compare(a.seq, b.seq) })
	page, size, lo, hi, e := paging(c.p, "CurrentPage", "ShowSize", 50, 100, len(match))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	now := f.clock.Now()
	for _, cert := range match[lo:hi] {
		leaf := cert.leaf
		list = append(list, map[string]any{
			"CertificateId": cert.id, "Name": cert.name, "CommonName": leaf.Subject.CommonName, "Sans": cert.sans,
			"Issuer": s.issuerName(cert), "Fingerprint": cert.fingerprint, "Expired": now.After(leaf.NotAfter),
			"StartDate": leaf.NotBefore.UTC().Format("2006-01-02"), "EndDate": leaf.NotAfter.UTC().Format("2006-01-02"),
			"CertStartTime": leaf.NotBefore.UnixMilli(), "CertEndTime": leaf.NotAfter.UnixMilli(), "Upload": true,
			"Algorithm": cert.algorithm, "SerialNo": leaf.SerialNumber.Text(16), "ResourceGroupId": cert.resourceGroup,
			"Status": "ISSUED",
		})
	}
	return map[string]any{"CurrentPage": page, "ShowSize": size, "TotalCount": len(match), "CertificateOrderList": list}, nil
}

package files

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Signing operations: a signature for one cannot be used for the other.
const (
	opRead  = "read"
	opWrite = "write"
)

// Signature returns "v1_" + base64_std_nopad(SHA256(path + ":" + op + ":" + user + ":" + token)), with
// ":" + expiration appended to the hashed string when expiration != 0. op is "read" or "write".
//
// It is the scheme of E2B's envd, which the SDKs reproduce in downloadUrl()/uploadUrl(), so the
// formula must stay byte-for-byte identical.
func Signature(path, op, user, token string, expiration int64) string {
	s := path + ":" + op + ":" + user + ":" + token
	if expiration != 0 {
		s += ":" + strconv.FormatInt(expiration, 10)
	}
	sum := sha256.Sum256([]byte(s))
	return "v1_" + base64.RawStdEncoding.EncodeToString(sum[:])
}

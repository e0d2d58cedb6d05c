package files

import (
	"net/http"
	"strings"
)

// Limits of file metadata: the key limit keeps "user.e2b.<key>" within Linux's 255-byte xattr name
// limit; the total keeps all of it within one filesystem block, where ext4 stores xattrs.
const (
	metadataHeaderPrefix = "X-Metadata-"
	maxMetadataKey       = 246
	maxMetadataTotal     = 4096
)

// metadataFromHeader collects `X-Metadata-<Key>: <value>` headers as {key: value} with lower-cased
// keys (the first value when one is repeated), nil when there are none. It is validated up front so
// that an invalid request writes nothing.
func metadataFromHeader(h http.Header) (map[string]string, error) {
	var (
		out   map[string]string
		total int
	)
	for name, values := range h {
		if len(name) < len(metadataHeaderPrefix) || !strings.EqualFold(name[:len(metadataHeaderPrefix)], metadataHeaderPrefix) {
			continue
		}
		key := strings.ToLower(name[len(metadataHeaderPrefix):])
		if key == "" || len(values) == 0 {
			continue
		}
		value := values[0]
		switch {
		case len(key) > maxMetadataKey:
			return nil, statusf(http.StatusBadRequest, "metadata key %.32q… is longer than %d bytes", key, maxMetadataKey)
		case !printableASCII(key):
			return nil, statusf(http.StatusBadRequest, "metadata key %q is not printable ASCII", key)
		case !printableASCII(value):
			return nil, statusf(http.StatusBadRequest, "metadata value of %q is not printable ASCII", key)
		}
		total += len(key) + len(value)
		if total > maxMetadataTotal {
			return nil, statusf(http.StatusBadRequest, "metadata is larger than %d bytes", maxMetadataTotal)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = value
	}
	return out, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

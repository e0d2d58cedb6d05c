package api

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
)

var idPattern = regexp.MustCompile(`^[a-z0-9]+$`)

// sandboxID normalises a path sandbox ID as E2B does (§2.1.5): a legacy "<id>-<clientID>" loses
// its suffix, more than two dash-separated parts is an error, and IDs are lowercase alphanumeric.
func sandboxID(raw string) (string, error) {
	parts := strings.Split(raw, "-")
	if len(parts) > 2 {
		return "", errors.New("invalid sandbox ID: too many '-' separated parts")
	}
	id := parts[0]
	if !idPattern.MatchString(id) {
		return "", errors.New("invalid sandbox ID: must match ^[a-z0-9]+$")
	}
	return id, nil
}

// pathID returns the request's {id}, or answers 400 and returns false.
func pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := sandboxID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return id, true
}

package envd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sandboxstack/terraform-provider-sandbox/server/envd/sandboxenv"
)

func (s *Server) serveEnvs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.env.EnvVars())
}

// initRequest is the orchestrator's /init body. Every field is optional; an absent one keeps the
// current value. volumeMounts, hyperloopIP and lifecycleID are VM-specific and accepted without effect.
type initRequest struct {
	EnvVars        *map[string]string `json:"envVars"`
	AccessToken    *string            `json:"accessToken"`
	DefaultUser    *string            `json:"defaultUser"`
	DefaultWorkdir *string            `json:"defaultWorkdir"`
	Timestamp      *time.Time         `json:"timestamp"`
	CABundle       *string            `json:"caBundle"`
}

// serveInit applies the orchestrator's configuration. When a token is already set, the request must
// present it: /init may rotate the token, so it must not be open to whoever reaches the port.
func (s *Server) serveInit(w http.ResponseWriter, r *http.Request) {
	if !s.tokenOK(r) {
		writeUnauthorized(w)
		return
	}
	var req initRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		WriteJSONError(w, http.StatusBadRequest, fmt.Sprintf("invalid init body: %v", err))
		return
	}
	if req.DefaultUser != nil && *req.DefaultUser != "" {
		if _, err := s.env.LookupUser(*req.DefaultUser); err != nil {
			WriteJSONError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.CABundle != nil && *req.CABundle != "" {
		if err := installCABundle(*req.CABundle); err != nil {
			s.log.Warn("install CA bundle", "err", err)
		}
	}
	s.env.Update(func(d *sandboxenv.Defaults) {
		if req.EnvVars != nil {
			d.EnvVars = *req.EnvVars
		}
		if req.AccessToken != nil {
			d.AccessToken = *req.AccessToken
		}
		if req.DefaultUser != nil {
			d.DefaultUser = *req.DefaultUser
		}
		if req.DefaultWorkdir != nil {
			d.DefaultWorkdir = *req.DefaultWorkdir
		}
	})
	s.log.Info("init applied", "defaultUser", s.env.DefaultUserName(), "defaultWorkdir", s.env.DefaultWorkdir(),
		"envVars", len(s.env.EnvVars()), "token", s.env.AccessToken() != "")
	w.Header().Set("X-Envd-Version", Version)
	w.WriteHeader(http.StatusNoContent)
}

// installCABundle appends the orchestrator's CA to the system bundle so that tools inside the sandbox
// trust it. Only where the bundle is writable (it is inside a sandbox's own root).
func installCABundle(pem string) error {
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	f, err := os.OpenFile(bundle, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", bundle, err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + strings.TrimSpace(pem) + "\n"); err != nil {
		return fmt.Errorf("append to %s: %w", bundle, err)
	}
	return nil
}

type metrics struct {
	Timestamp   int64   `json:"ts"`
	CPUCount    int     `json:"cpu_count"`
	CPUUsedPct  float64 `json:"cpu_used_pct"`
	MemTotal    uint64  `json:"mem_total"`
	MemUsed     uint64  `json:"mem_used"`
	MemCache    uint64  `json:"mem_cache"`
	MemTotalMiB uint64  `json:"mem_total_mib"`
	MemUsedMiB  uint64  `json:"mem_used_mib"`
	DiskUsed    uint64  `json:"disk_used"`
	DiskTotal   uint64  `json:"disk_total"`
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	m := metrics{Timestamp: time.Now().Unix(), CPUCount: runtime.NumCPU(), CPUUsedPct: cpuUsedPercent(200 * time.Millisecond)}
	if mem, err := readMeminfo(); err == nil {
		m.MemTotal = mem["MemTotal"]
		m.MemCache = mem["Cached"] + mem["Buffers"]
		if avail, ok := mem["MemAvailable"]; ok && avail <= m.MemTotal {
			m.MemUsed = m.MemTotal - avail
		}
		m.MemTotalMiB, m.MemUsedMiB = m.MemTotal>>20, m.MemUsed>>20
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err == nil {
		m.DiskTotal = st.Blocks * uint64(st.Bsize)
		m.DiskUsed = (st.Blocks - st.Bfree) * uint64(st.Bsize)
	}
	writeJSON(w, http.StatusOK, m)
}

// readMeminfo returns /proc/meminfo in bytes.
func readMeminfo() (map[string]uint64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(raw), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v *= 1024
		}
		out[key] = v
	}
	return out, nil
}

// cpuUsedPercent samples /proc/stat twice, window apart.
func cpuUsedPercent(window time.Duration) float64 {
	idle0, total0, err := cpuTimes()
	if err != nil {
		return 0
	}
	time.Sleep(window)
	idle1, total1, err := cpuTimes()
	if err != nil || total1 <= total0 {
		return 0
	}
	busy := float64((total1 - total0) - (idle1 - idle0))
	return 100 * busy / float64(total1-total0)
}

func cpuTimes() (idle, total uint64, err error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

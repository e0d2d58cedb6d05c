package kernel

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// connectionInfo is the content of a Jupyter kernel connection file.
type connectionInfo struct {
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	IP              string `json:"ip"`
	Key             string `json:"key"`
	Transport       string `json:"transport"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name"`
}

func (c connectionInfo) endpoint(port int) string {
	return "tcp://" + net.JoinHostPort(c.IP, strconv.Itoa(port))
}

func (c connectionInfo) ports() []int {
	return []int{c.ShellPort, c.IOPubPort, c.StdinPort, c.ControlPort, c.HBPort}
}

// newConnectionInfo picks five free loopback ports and a fresh signing key.
// The ports are held open together so that they are distinct, then released
// for the kernel to bind.
func newConnectionInfo() (connectionInfo, error) {
	const ip = "127.0.0.1"
	ports := make([]int, 5)
	for i := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return connectionInfo{}, fmt.Errorf("reserve port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return connectionInfo{
		ShellPort:       ports[0],
		IOPubPort:       ports[1],
		StdinPort:       ports[2],
		ControlPort:     ports[3],
		HBPort:          ports[4],
		IP:              ip,
		Key:             newID(),
		Transport:       "tcp",
		SignatureScheme: "hmac-sha256",
		KernelName:      "python3",
	}, nil
}

// write stores the connection file (mode 0600) in dir and returns its path.
func (c connectionInfo) write(dir string) (string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode connection file: %w", err)
	}
	f, err := os.CreateTemp(dir, "kernel-*.json")
	if err != nil {
		return "", fmt.Errorf("create connection file: %w", err)
	}
	path := filepath.Clean(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("write connection file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("close connection file: %w", err)
	}
	return path, nil
}

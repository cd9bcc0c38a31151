package metrics

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// DefaultListenAddress is where the metrics and health endpoints listen by
// default: every interface, port 8765 (the port Falco's web server uses for
// its health endpoint, so existing probes and firewall rules carry over).
const DefaultListenAddress = ":8765"

// Config configures the metrics and health HTTP server (the `metrics:` key
// of the agent's config).
type Config struct {
	// Enabled turns the server on. The health endpoints live on the same
	// server, so a DaemonSet with liveness/readiness probes needs it on.
	Enabled bool `yaml:"enabled"`
	// ListenAddress is host:port to listen on; ":8765" by default. Use
	// "127.0.0.1:8765" to keep it off the network.
	ListenAddress string `yaml:"listen_address"`
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight scrapes.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// GoMetrics adds the Go runtime (go_*) and process (process_*)
	// collectors.
	GoMetrics bool `yaml:"go_metrics"`
}

// DefaultConfig returns the defaults: enabled on :8765, 5 s shutdown, Go
// runtime metrics on.
func DefaultConfig() Config {
	return Config{
		Enabled:         true,
		ListenAddress:   DefaultListenAddress,
		ShutdownTimeout: 5 * time.Second,
		GoMetrics:       true,
	}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	host, port, err := net.SplitHostPort(c.ListenAddress)
	if err != nil {
		return fmt.Errorf("metrics.listen_address %q: %w", c.ListenAddress, err)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("metrics.listen_address %q: bad host %q", c.ListenAddress, host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("metrics.listen_address %q: bad port %q", c.ListenAddress, port)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("metrics.shutdown_timeout %s: must be positive", c.ShutdownTimeout)
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

package testutil

import (
	"net"
	"testing"
)

// ClosingListener listens on network ("tcp4", "tcp") at addr and closes
// every connection it accepts, for tests that need a peer to connect to
// and nothing more. The listener is closed when the test ends.
func ClosingListener(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

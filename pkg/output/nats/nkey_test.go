package nats

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nkeys"
)

// writeNKey creates a user nkey, writes its seed to a file and returns the
// file and the public key.
func writeNKey(t *testing.T) (string, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	path := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

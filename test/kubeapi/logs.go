package kubeapi

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/go-logr/logr/funcr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// namedLog is the output of one server process.
type namedLog struct {
	name string
	buf  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLog returns the writer collecting the output of the named process.
func (s *Server) newLog(name string) *syncBuffer {
	b := &syncBuffer{}
	s.logs = append(s.logs, namedLog{name: name, buf: b})
	return b
}

// Logs returns the output of etcd and kube-apiserver (for failure messages).
func (s *Server) Logs() string {
	var b bytes.Buffer
	for _, l := range s.logs {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", l.name, l.buf.String())
	}
	return b.String()
}

var loggerOnce sync.Once

// setupLogger sends controller-runtime's own messages (envtest reports a
// failed start attempt before retrying) to stderr; left unset, it prints a
// warning with a stack trace once the test binary is 30 s old.
func setupLogger() {
	loggerOnce.Do(func() {
		ctrllog.SetLogger(funcr.New(func(prefix, args string) {
			fmt.Fprintln(os.Stderr, prefix, args)
		}, funcr.Options{}))
	})
}

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownFlushesPendingAlerts raises alerts for a receiver that takes
// its time to answer, and stops the agent while most are still pending:
// SIGTERM and SIGINT alike must deliver every one before the agent exits.
func TestShutdownFlushesPendingAlerts(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			rulesFile := writeRules(t, symlinkRule("E2E symlink to shadow", "/etc/shadow", dir))
			a := launch(t, agentOptions{config: agentConfig + "shutdown_timeout: 30s\n", args: []string{"-r", rulesFile},
				webhookDelay: 400 * time.Millisecond})
			_, actions := buildBinaries(t)
			const n = 8
			var links []string
			for i := 0; i < n; i++ {
				link := filepath.Join(dir, fmt.Sprintf("l%d", i))
				run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
				links = append(links, link)
			}
			// NATS answers at once: when it has every alert, the engine
			// has raised them all and the slow receiver still waits for most.
			for _, l := range links {
				a.nats.wait(t, "alert over NATS", alertWait, func(fa falcoAlert) bool { return strings.HasSuffix(fa.Output, " "+l) })
			}
			pending := n - len(a.http.snapshot())
			if pending < n/2 {
				t.Fatalf("only %d of %d alerts pending at the slow receiver: the shutdown would flush nothing", pending, n)
			}
			if err := a.stop(t, sig); err != nil {
				t.Fatalf("vigil did not exit cleanly on %v: %v\n%s", sig, err, tail(a.stderr.String(), 20))
			}
			// The agent has exited: what it delivered is here now.
			got := map[string]bool{}
			for _, fa := range a.http.snapshot() {
				got[fmt.Sprint(fa.OutputFields["evt.arg.linkpath"])] = true
			}
			for _, l := range links {
				if !got[l] {
					t.Errorf("alert for %s not delivered before exit (%d pending at %v)", l, pending, sig)
				}
			}
			if !strings.Contains(a.stderr.String(), "flushing alerts") {
				t.Errorf("no flush logged:\n%s", tail(a.stderr.String(), 10))
			}
		})
	}
}

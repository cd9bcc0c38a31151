package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestCheckAgentLog(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(agentLogTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	overflow := []window{{at("2026-11-24T15:00:10.000Z"), at("2026-11-24T15:00:30.000Z")}}
	tests := []struct {
		name     string
		log      string
		problems []string // one substring per expected problem
		allowed  int
	}{{
		name: "info lines and alerts",
		log: `{"level":"info","ts":"2026-11-24T15:00:00.000Z","msg":"vigil started"}
{"rule":"Sensitive file read by unexpected program","priority":"Warning","output":"error reading /etc/shadow"}

{"level":"debug","ts":"2026-11-24T15:00:01.000Z","msg":"rules reloaded"}`,
	}, {
		name:     "an error",
		log:      `{"level":"error","ts":"2026-11-24T15:00:00.000Z","msg":"output not started","output":"nats"}`,
		problems: []string{"error: "},
	}, {
		name:     "a per-event warning",
		log:      `{"level":"warn","ts":"2026-11-24T15:00:00.000Z","msg":"alert not delivered","output":"nats","reason":"retries exhausted"}`,
		problems: []string{"unexpected warning: "},
	}, {
		name:    "events dropped during the overflow",
		log:     `{"level":"warn","ts":"2026-11-24T15:00:20.000Z","msg":"events dropped","detail":"kernel 120"}`,
		allowed: 1,
	}, {
		name:     "events dropped outside the overflow",
		log:      `{"level":"warn","ts":"2026-11-24T15:00:31.000Z","msg":"events dropped","detail":"kernel 120"}`,
		problems: []string{"unexpected warning: "},
	}, {
		name:     "events dropped with a timestamp that does not parse",
		log:      `{"level":"warn","ts":1732460420.5,"msg":"events dropped"}`,
		problems: []string{"unexpected warning: "},
	}, {
		name: "error-like lines that are not JSON",
		log: `panic: runtime error: index out of range
goroutine 1 [running]:
W1124 15:00:00.000000       1 reflector.go:561] watch of *v1.Pod ended
E1124 15:00:00.000000       1 reflector.go:158] Unhandled Error
connection failed`,
		problems: []string{"panic:", "goroutine 1", "W1124", "E1124", "connection failed"},
	}, {
		name: "harmless lines that are not JSON",
		log:  "I1124 15:00:00.000000       1 shared_informer.go:320] Caches are synced\nstarting",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := checkAgentLog(tt.log, overflow)
			if len(res.problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %d like %q", res.problems, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(res.problems[i], want) {
					t.Errorf("problem %q, want it to contain %q", res.problems[i], want)
				}
			}
			if len(res.allowed) != tt.allowed {
				t.Errorf("allowed %q, want %d", res.allowed, tt.allowed)
			}
		})
	}
}

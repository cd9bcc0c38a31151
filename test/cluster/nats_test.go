package cluster

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// received is one alert as a NATS subscriber got it.
type received struct {
	Subject string
	At      time.Time
	Rule    string         `json:"rule"`
	Prio    string         `json:"priority"`
	Output  string         `json:"output"`
	Fields  map[string]any `json:"output_fields"`
	Source  string         `json:"source"`
	Tags    []string       `json:"tags"`
}

// field returns an output field as a string ("" when missing).
func (r received) field(name string) string {
	v, ok := r.Fields[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// subscriber is a NATS connection as one user with everything it received
// and every asynchronous error (permission violations) it was told.
type subscriber struct {
	user string
	nc   *nats.Conn

	mu     sync.Mutex
	alerts []received
	errs   []string
}

// subscribe connects as user and subscribes to each subject.
func subscribe(t *testing.T, url, user, password string, subjects ...string) *subscriber {
	t.Helper()
	s := &subscriber{user: user}
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.Name("cluster-test-"+user),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			s.mu.Lock()
			s.errs = append(s.errs, err.Error())
			s.mu.Unlock()
		}))
	if err != nil {
		t.Fatalf("nats connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	s.nc = nc
	for _, subj := range subjects {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			r := received{Subject: m.Subject, At: time.Now()}
			if err := json.Unmarshal(m.Data, &r); err != nil {
				r.Rule = "<undecodable: " + err.Error() + ">"
			}
			s.mu.Lock()
			s.alerts = append(s.alerts, r)
			s.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot returns what was received so far.
func (s *subscriber) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.alerts...)
}

// errors returns the asynchronous errors so far.
func (s *subscriber) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// waitFor waits until match holds for an alert received at index from or
// later and returns it; it fails t when none arrives within timeout.
func (s *subscriber) waitFor(t *testing.T, from int, timeout time.Duration, what string, match func(received) bool) (received, bool) {
	t.Helper()
	r, ok := s.await(from, timeout, match)
	if !ok {
		t.Errorf("%s: no alert for %s within %s (%d received)", s.user, what, timeout, len(s.snapshot()))
	}
	return r, ok
}

// await is waitFor without failing: ok is false after timeout.
func (s *subscriber) await(from int, timeout time.Duration, match func(received) bool) (received, bool) {
	deadline := time.Now().Add(timeout)
	for {
		all := s.snapshot()
		for _, r := range all[min(from, len(all)):] {
			if match(r) {
				return r, true
			}
		}
		if time.Now().After(deadline) {
			return received{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count returns how many alerts from index from on match.
func (s *subscriber) count(from int, match func(received) bool) int {
	all := s.snapshot()
	n := 0
	for _, r := range all[min(from, len(all)):] {
		if match(r) {
			n++
		}
	}
	return n
}

func ruleIs(rule string) func(received) bool {
	return func(r received) bool { return r.Rule == rule }
}

// tenantOfSubject returns the tenant part of vigil.alerts.<tenant>.<priority>.
func tenantOfSubject(subject string) string {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 {
		return "<bad subject " + subject + ">"
	}
	return parts[2]
}

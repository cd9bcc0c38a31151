package rules

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// gatedLookup resolves names with the system resolver once open is closed;
// until then lookups wait, as behind a slow DNS server. It counts lookups
// per name.
type gatedLookup struct {
	open  chan struct{}
	mu    sync.Mutex
	calls map[string]int
}

func newGatedLookup() *gatedLookup {
	return &gatedLookup{open: make(chan struct{}), calls: map[string]int{}}
}

func (g *gatedLookup) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.mu.Lock()
	g.calls[host]++
	g.mu.Unlock()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

func (g *gatedLookup) count(host string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[host]
}

// connectTo is a connect event of the test process to addr.
func connectTo(addr string) *event.Event {
	ev := testEvent()
	ev.Type = event.TypeConnect
	ev.FD = &event.FD{Num: 4, Type: event.FDIPv4, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
		Local: netip.MustParseAddrPort("10.0.0.5:40000"), Remote: netip.MustParseAddrPort(addr), Connected: true}
	return ev
}

// hostRules builds one rule per condition, named by its index.
func hostRules(conds ...string) string {
	var b strings.Builder
	for i, c := range conds {
		fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: evt.type = connect and %s\n  output: name=%%fd.sip.name\n  priority: INFO\n", i, c)
	}
	return b.String()
}

func matchRule(t *testing.T, rs *Ruleset, name string, ev *event.Event) bool {
	t.Helper()
	e := NewEvaluator(EvalOptions{})
	e.Begin(rs, ev)
	ok, err := e.Match(ruleByName(rs, name))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestRulesHostNames(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	hostAddrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil || len(hostAddrs) == 0 {
		t.Skipf("the machine's hostname %q does not resolve: %v", host, err)
	}
	hostIP := netip.AddrPortFrom(hostAddrs[0].Unmap(), 443).String()

	g := newGatedLookup()
	h := NewHostResolver(HostResolverOptions{Lookup: g.lookup, Refresh: 20 * time.Millisecond})
	defer h.Close()
	rs, _, err := LoadBytesWith(LoadOptions{Hosts: h}, "t.yaml", []byte(hostRules(
		"fd.sip.name = localhost",
		`fd.sip.name in (localhost, "`+host+`")`,
		"fd.sip.name != localhost",
		"fd.sip.name = "+host,
		"fd.cip.name = localhost",
		"fd.sip.name exists",
	)))
	if err != nil {
		t.Fatal(err)
	}
	loopback, other := connectTo("127.0.0.1:443"), connectTo("192.0.2.1:443")
	ownHost := connectTo(hostIP)
	open := testEvent()
	open.Type = event.TypeConnect // a connect without a socket fd: nothing to compare
	open.FD = nil

	// Before any answer: every check is false, != included, and the
	// event path does not wait for the lookups held at the gate.
	done := make(chan bool)
	go func() {
		any := false
		for _, r := range rs.Rules() {
			any = any || matchRule(t, rs, r.Name, loopback) || matchRule(t, rs, r.Name, other)
		}
		done <- any
	}()
	select {
	case any := <-done:
		if any {
			t.Error("a check matched before its names resolved")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("evaluation waited for the resolver")
	}

	close(g.open)
	eventually(t, "localhost to resolve", func() bool { return matchRule(t, rs, "r0", loopback) })
	eventually(t, host+" to resolve", func() bool { return matchRule(t, rs, "r3", ownHost) })
	cases := []struct {
		rule string
		ev   *event.Event
		want bool
	}{
		{"r0", loopback, true}, {"r0", other, false}, {"r0", open, false},
		{"r1", loopback, true}, {"r1", ownHost, true}, {"r1", other, false},
		{"r2", loopback, false}, {"r2", other, true}, {"r2", open, false},
		{"r3", ownHost, true}, {"r3", other, false},
		{"r4", loopback, false}, // the client end is 10.0.0.5
		{"r5", loopback, true}, {"r5", other, false},
	}
	for _, tc := range cases {
		if got := matchRule(t, rs, tc.rule, tc.ev); got != tc.want {
			t.Errorf("%s (%s) on %v = %v, want %v", tc.rule, ruleByName(rs, tc.rule).Condition, tc.ev.FD, got, tc.want)
		}
	}

	// The value of the field is the name the address resolved from.
	e := NewEvaluator(EvalOptions{})
	e.Begin(rs, other)
	if text, fields := e.Format(ruleByName(rs, "r0"), other); text != "name=<NA>" || fields["fd.sip.name"] != nil {
		t.Errorf("unresolved address: %q %v", text, fields)
	}
	if text, _ := e.Format(ruleByName(rs, "r0"), loopback); text != "name=localhost" {
		t.Errorf("output %q, want name=localhost", text)
	}

	// Names are looked up again periodically.
	n := g.count("localhost")
	eventually(t, "a refresh of localhost", func() bool { return g.count("localhost") >= n+2 })
}

func TestRulesHostNameOperators(t *testing.T) {
	for _, f := range Fields() {
		if f.Name == "fd.sip.name" && (f.Type != TypeString || strings.Contains(f.Desc, "do not carry")) {
			t.Errorf("fd.sip.name listed as %s %q", f.Type, f.Desc)
		}
	}
	for _, op := range []string{"contains local", "startswith local", "glob 'local*'", "pmatch (localhost)", "> a"} {
		_, _, err := LoadBytes("t.yaml", []byte(hostRules("fd.sip.name "+op)))
		if err == nil || !strings.Contains(err.Error(), "cannot be used with field fd.sip.name: it compares the address with those of host names") {
			t.Errorf("fd.sip.name %s: error %v", op, err)
		}
	}
}

func TestRulesHostResolverBounded(t *testing.T) {
	var lookups atomic.Int64
	h := NewHostResolver(HostResolverOptions{MaxNames: 2, Refresh: time.Hour, Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}})
	defer h.Close()
	load := func(conds ...string) (*Ruleset, []Warning) {
		rs, warns, err := LoadBytesWith(LoadOptions{Hosts: h}, "t.yaml", []byte(hostRules(conds...)))
		if err != nil {
			t.Fatal(err)
		}
		return rs, warns
	}
	rs, warns := load("fd.sip.name = localhost", "fd.sip.name in (localhost, a.example, b.example)")
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, `host name "b.example" is not resolved: the resolver holds its maximum of names`) {
		t.Errorf("warnings %v", warns)
	}
	eventually(t, "localhost to resolve", func() bool { return matchRule(t, rs, "r1", connectTo("127.0.0.1:80")) })

	// A failed load holds no names.
	if _, _, err := LoadBytesWith(LoadOptions{Hosts: h}, "t.yaml", []byte(hostRules("fd.sip.name = c.example and proc.nme = x"))); err == nil {
		t.Fatal("a broken rule loaded")
	}
	// Once the ruleset is garbage, its names are given back.
	runtime.KeepAlive(rs)
	rs = nil
	eventually(t, "the names of a dropped ruleset to be released", func() bool {
		runtime.GC()
		_, warns := load("fd.sip.name in (c.example, d.example)")
		return len(warns) == 0
	})
	if lookups.Load() == 0 {
		t.Error("no lookup happened")
	}
}

func TestRulesHostResolverClose(t *testing.T) {
	g := newGatedLookup()
	close(g.open)
	h := NewHostResolver(HostResolverOptions{Lookup: g.lookup, Refresh: 10 * time.Millisecond})
	rs, _, err := LoadBytesWith(LoadOptions{Hosts: h}, "t.yaml", []byte(hostRules("fd.sip.name = localhost")))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "localhost to resolve", func() bool { return matchRule(t, rs, "r0", connectTo("127.0.0.1:80")) })
	h.Close()
	n := g.count("localhost")
	time.Sleep(100 * time.Millisecond)
	if g.count("localhost") != n {
		t.Error("lookups went on after Close")
	}
	if !matchRule(t, rs, "r0", connectTo("127.0.0.1:80")) {
		t.Error("the last answer was lost on Close")
	}
}

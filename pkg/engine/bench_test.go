package engine

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"golang.org/x/sys/unix"
)

// eventMix is a realistic stream: mostly opens, closes and connects, some
// execs, sockets and clones, from host and container processes, with no
// rule matching.
func eventMix() []*event.Event {
	host := hostChain()
	runc := proc(300, "containerd-shim", "/usr/bin/containerd-shim", nil)
	nginx := proc(301, "nginx", "/usr/sbin/nginx", runc, "-g", "daemon off;")
	meta := containerMeta()
	paths := []string{"/etc/hosts", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/var/www/index.html", "/proc/self/stat",
		"/etc/ld.so.cache", "/tmp/upload-1234", "/var/lib/nginx/body/0001", "/etc/nsswitch.conf"}
	var evs []*event.Event
	for i := 0; i < 100; i++ {
		p, m := host, (*event.Metadata)(nil)
		if i%2 == 0 {
			p, m = nginx, meta
		}
		switch k := i % 20; {
		case k < 7: // 35% opens
			flags := uint64(unix.O_RDONLY | unix.O_CLOEXEC)
			if k == 3 {
				flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
			}
			evs = append(evs, openEvent(p, paths[i%len(paths)], flags, 7, m))
		case k < 13: // 30% closes
			evs = append(evs, closeEvent(p, 7))
		case k < 16: // 15% connects
			ev := connectEvent(p, "10.96.0.10:53", m)
			evs = append(evs, ev)
		case k < 18: // 10% execs
			child := proc(400+uint32(i), "ls", "/usr/bin/ls", p, "-l", "/var/www")
			evs = append(evs, execEvent(child, m))
		case k == 18:
			ev := newEvent(event.TypeSocket, p)
			ev.Args.Domain, ev.Args.SockType, ev.Ret = unix.AF_INET, unix.SOCK_STREAM, 8
			ev.Meta = m
			evs = append(evs, ev)
		default:
			ev := newEvent(event.TypeClone, p)
			ev.Ret = 999
			ev.Meta = m
			evs = append(evs, ev)
		}
	}
	return evs
}

// BenchmarkStableRuleset runs Falco's stable rules over the event mix; one
// op is one event.
func BenchmarkStableRuleset(b *testing.B) {
	rs := loadStable(b)
	e := newEngine(b, rs, MatchFirst)
	evs := eventMix()
	alerts := 0
	emit := func(*alert.Alert) { alerts++ }
	for _, ev := range evs { // warm up scratch buffers
		e.Process(ev, emit)
	}
	if alerts != 0 {
		b.Fatalf("the benign mix fired %d alerts", alerts)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Process(evs[i%len(evs)], emit)
	}
}

// BenchmarkStableRulesetByType shows the cost of each kind of event.
func BenchmarkStableRulesetByType(b *testing.B) {
	rs := loadStable(b)
	e := newEngine(b, rs, MatchFirst)
	emit := func(*alert.Alert) {}
	kinds := map[string]func() *event.Event{}
	for _, ev := range eventMix() {
		ev := ev
		if _, ok := kinds[ev.Type.String()]; !ok {
			kinds[ev.Type.String()] = func() *event.Event { return ev }
		}
	}
	for name, mk := range kinds {
		ev := mk()
		b.Run(name, func(b *testing.B) {
			e.Process(ev, emit)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.Process(ev, emit)
			}
		})
	}
}

// BenchmarkAllFalcoRulesets runs the stable, incubating and sandbox rules
// together over the event mix. Broader rules fire on 12 of its 100 events
// (writes below /etc, host network activity), so its allocations are those
// alerts.
func BenchmarkAllFalcoRulesets(b *testing.B) {
	loadStable(b)
	rs, _, err := rules.Load(stableRules, "../../../shared/falco/falco-incubating_rules.yaml", "../../../shared/falco/falco-sandbox_rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, rs, MatchFirst)
	evs := eventMix()
	emit := func(*alert.Alert) {}
	for _, ev := range evs {
		e.Process(ev, emit)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Process(evs[i%len(evs)], emit)
	}
}

// BenchmarkAlert measures an event that fires a rule: evaluation plus
// building the alert (the only allocations of the engine).
func BenchmarkAlert(b *testing.B) {
	e := newEngine(b, loadStable(b), MatchFirst)
	cat := proc(210, "cat", "/usr/bin/cat", hostChain(), "/etc/shadow")
	ev := openEvent(cat, "/etc/shadow", unix.O_RDONLY, 3, containerMeta())
	n := 0
	emit := func(*alert.Alert) { n++ }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Process(ev, emit)
	}
	if n != b.N {
		b.Fatalf("%d alerts for %d events", n, b.N)
	}
}

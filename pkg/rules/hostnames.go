package rules

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// HostResolverOptions configure a HostResolver; zero values take the
// defaults.
type HostResolverOptions struct {
	// Lookup resolves a host name to its addresses; nil uses the system
	// resolver (net.DefaultResolver).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Refresh is how often each name is looked up again (default 10s);
	// a name that has never resolved is retried sooner, from 1s up.
	Refresh time.Duration
	// Timeout bounds one lookup (default 5s).
	Timeout time.Duration
	// MaxNames bounds the names held at once (default 1024). Checks on a
	// name beyond the bound stay false, and the load warns.
	MaxNames int
}

// HostResolver resolves the host names that fd.cip.name, fd.sip.name,
// fd.lip.name and fd.rip.name checks compare with. As in Falco,
// `fd.sip.name = example.com` is true when the server IP is one of the
// addresses example.com resolves to. A ruleset's names are resolved in the
// background once it compiles and refreshed periodically; the event path
// only reads the last answer and never waits. Until a name has resolved,
// checks on it are false, `!=` included. Names no live ruleset uses any
// more are dropped. A HostResolver is safe for concurrent use.
type HostResolver struct {
	lookup   func(ctx context.Context, host string) ([]netip.Addr, error)
	refresh  time.Duration
	timeout  time.Duration
	maxNames int

	mu      sync.Mutex
	hosts   map[string]*hostEntry
	started bool
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	// rev maps each resolved address to a name resolving to it: the value
	// of an fd.*.name field in outputs. It is replaced, never modified.
	rev atomic.Pointer[map[netip.Addr]string]
}

// hostEntry is one name with its last answer.
type hostEntry struct {
	name string
	// addrs is nil until the first answer.
	addrs atomic.Pointer[[]netip.Addr]
	// refs counts the rulesets using the name; next and fails schedule
	// the lookups. All three are guarded by HostResolver.mu.
	refs  int
	next  time.Time
	fails int
}

// NewHostResolver returns a HostResolver. Its background goroutine starts
// with the first name a ruleset asks for; Close stops it.
func NewHostResolver(o HostResolverOptions) *HostResolver {
	if o.Lookup == nil {
		o.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if o.Refresh <= 0 {
		o.Refresh = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxNames <= 0 {
		o.MaxNames = 1024
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &HostResolver{lookup: o.Lookup, refresh: o.Refresh, timeout: o.Timeout, maxNames: o.MaxNames,
		hosts: map[string]*hostEntry{}, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

var defaultHosts = sync.OnceValue(func() *HostResolver { return NewHostResolver(HostResolverOptions{}) })

// DefaultHostResolver returns the process-wide HostResolver that Load uses,
// backed by the system resolver. Like Falco's, it is shared by every
// ruleset, so reloading rules does not resolve their names again.
func DefaultHostResolver() *HostResolver { return defaultHosts() }

// Close stops the background lookups; checks keep the last answers.
func (r *HostResolver) Close() {
	r.mu.Lock()
	started := r.started
	r.started = true // no start after Close
	r.mu.Unlock()
	r.cancel()
	if started {
		<-r.done
	}
}

// acquire returns the entry of each name (nil for a name beyond the bound)
// and starts resolving the new ones.
func (r *HostResolver) acquire(names []string) []*hostEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*hostEntry, len(names))
	added := false
	for i, n := range names {
		e := r.hosts[n]
		if e == nil {
			if len(r.hosts) >= r.maxNames {
				r.dropUnused()
			}
			if len(r.hosts) >= r.maxNames {
				continue
			}
			e = &hostEntry{name: n}
			r.hosts[n] = e
			added = true
		}
		e.refs++
		out[i] = e
	}
	if added {
		if !r.started && r.ctx.Err() == nil {
			r.started = true
			go r.run()
		}
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return out
}

// release gives back entries returned by acquire.
func (r *HostResolver) release(es []*hostEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range es {
		if e != nil {
			e.refs--
		}
	}
}

// dropUnused forgets the names no ruleset uses; r.mu is held.
func (r *HostResolver) dropUnused() {
	for n, e := range r.hosts {
		if e.refs <= 0 {
			delete(r.hosts, n)
		}
	}
}

// parallelLookups bounds the lookups in flight.
const parallelLookups = 8

// run looks up the names that are due until Close.
func (r *HostResolver) run() {
	defer close(r.done)
	timer := time.NewTimer(r.refresh)
	defer timer.Stop()
	for r.ctx.Err() == nil {
		due, wait := r.due()
		if len(due) > 0 {
			// A few lookups at once, so that one slow name does not hold
			// the others back; each answer is used as soon as it comes.
			var wg sync.WaitGroup
			sem := make(chan struct{}, parallelLookups)
			for _, e := range due {
				sem <- struct{}{}
				wg.Go(func() {
					r.resolve(e)
					<-sem
				})
			}
			wg.Wait()
			r.publish()
			continue
		}
		timer.Reset(wait)
		select {
		case <-r.ctx.Done():
		case <-r.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// due returns the entries to look up now, or how long to wait for the
// next one.
func (r *HostResolver) due() ([]*hostEntry, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropUnused()
	now := time.Now()
	wait := r.refresh
	var due []*hostEntry
	for _, e := range r.hosts {
		if d := e.next.Sub(now); d <= 0 {
			due = append(due, e)
		} else if d < wait {
			wait = d
		}
	}
	return due, wait
}

// resolve looks e up once and schedules the next lookup. A name that does
// not exist resolves to no address; after another failure the last answer
// stays.
func (r *HostResolver) resolve(e *hostEntry) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	addrs, err := r.lookup(ctx, e.name)
	cancel()
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		as := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			as[i] = a.Unmap()
		}
		e.addrs.Store(&as)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		e.addrs.Store(&[]netip.Addr{})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil || e.addrs.Load() != nil {
		e.fails = 0
		e.next = time.Now().Add(r.refresh)
		return
	}
	// Never resolved: retry after 1s, 2s, 4s ... up to the refresh period.
	backoff := time.Second << min(e.fails, 16)
	e.fails++
	e.next = time.Now().Add(min(backoff, r.refresh))
}

// publish rebuilds the address-to-name map from the last answers.
func (r *HostResolver) publish() {
	r.mu.Lock()
	rev := map[netip.Addr]string{}
	for _, e := range r.hosts {
		if as := e.addrs.Load(); as != nil {
			for _, a := range *as {
				if old, ok := rev[a]; !ok || e.name < old {
					rev[a] = e.name
				}
			}
		}
	}
	r.mu.Unlock()
	r.rev.Store(&rev)
}

// nameOf returns a name resolving to a (the value of an fd.*.name field).
func (r *HostResolver) nameOf(a netip.Addr) (string, bool) {
	if r == nil {
		return "", false
	}
	m := r.rev.Load()
	if m == nil {
		return "", false
	}
	n, ok := (*m)[a.Unmap()]
	return n, ok
}

// hostMatch tests an address against the last answers for a check's names:
// any is `=`/`in` (the address is one of some name's), otherwise `!=` (it is
// none of them). A name without an answer makes the check false.
func hostMatch(es []*hostEntry, a netip.Addr, any bool) bool {
	for _, e := range es {
		if e == nil {
			if any {
				continue
			}
			return false
		}
		as := e.addrs.Load()
		if as == nil {
			if any {
				continue
			}
			return false
		}
		for _, x := range *as {
			if x == a {
				return any
			}
		}
	}
	return !any
}

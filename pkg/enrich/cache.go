package enrich

import (
	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/cri"
	"github.com/vigilsec/vigil/pkg/event"
)

// workload is what one lookup found out about a cgroup. Immutable once sent
// to the pipeline.
type workload struct {
	// host reports a cgroup that holds no container.
	host bool
	// info is what the cgroup path tells.
	info cgroup.Info
	// ctr is the runtime's answer; nil when the runtime does not know the
	// container or there is no runtime.
	ctr *cri.Container
	// final reports that the lookup is over (else only the path is known).
	final bool
	// unknown reports that the runtime answered and does not know the
	// container (not yet, or not one of its own).
	unknown bool
	// err is why the lookup failed, if it did.
	err error
}

// entry is the pipeline's state for one cgroup id: the metadata events get,
// and the events waiting for it. Owned by the pipeline goroutine.
type entry struct {
	id uint64
	// ready reports that a final answer arrived (or the wait timed out):
	// events no longer wait for this cgroup.
	ready bool
	// fast reports ready with nobody waiting: events take the hit path.
	fast bool
	// refreshing reports a background lookup in flight.
	refreshing bool
	wl         *workload
	meta       *event.Metadata
	// gen is the Kubernetes snapshot generation meta was built from.
	gen uint64
	// expires is when (Unix ns) the metadata is fetched again.
	expires int64
	// unknownStreak counts the answers in a row that the runtime does not
	// know the container: each doubles the time until the next lookup.
	unknownStreak uint8
	// retryAt, when set, is when (Unix ns) Flush looks a pod's container
	// up again that the runtime did not know while its events wait.
	retryAt int64
	// waiting holds copies of the events parked until the metadata arrives,
	// in arrival order; deadline is when they go on regardless.
	waiting  []*event.Event
	deadline int64

	prev, next *entry
}

// lru is a bounded map of entries with least-recently-used eviction. Entries
// with waiting events are never evicted. Not safe for concurrent use.
type lru struct {
	max        int
	m          map[uint64]*entry
	head, tail *entry
}

func newLRU(max int) *lru {
	return &lru{max: max, m: make(map[uint64]*entry, min(max, 1024))}
}

// get returns the entry for id and marks it most recently used.
func (l *lru) get(id uint64) *entry {
	e := l.m[id]
	if e != nil && e != l.head {
		l.unlink(e)
		l.pushFront(e)
	}
	return e
}

// add inserts e (whose id is not present) and evicts the least recently
// used entries beyond the bound. It returns how many were evicted.
func (l *lru) add(e *entry) int {
	l.m[e.id] = e
	l.pushFront(e)
	evicted := 0
	for v := l.tail; len(l.m) > l.max && v != nil && v != e; {
		prev := v.prev
		if len(v.waiting) == 0 {
			l.remove(v)
			evicted++
		}
		v = prev
	}
	return evicted
}

func (l *lru) remove(e *entry) {
	l.unlink(e)
	delete(l.m, e.id)
}

func (l *lru) len() int { return len(l.m) }

func (l *lru) pushFront(e *entry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *lru) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

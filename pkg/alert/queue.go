package alert

import (
	"sync"
	"sync/atomic"
)

// queue is one destination's bounded queue, fair between tenants. Each
// tenant's alerts wait in a FIFO of their own and the consumers take one
// alert from each waiting tenant in turn (round robin), so an alert waits
// behind at most one alert of every other tenant, never behind another
// tenant's backlog. The FIFOs share one pool of size slots, allocated
// once; a tenant may hold at most size/(n+1) of them, n being the number
// of tenants with alerts waiting (itself included), so a tenant that has
// none waiting always finds room. push never waits for a consumer (the
// lock is held for a few list operations) and allocates only the first
// time it sees a tenant id.
type queue struct {
	mu          sync.Mutex
	nodes       []node // the slot pool
	free        int32  // first free slot, -1 when none
	n           int    // alerts waiting
	tenants     []fifo // by tenant id
	active      int    // tenants with alerts waiting
	first, last int32  // round-robin list of those tenants, -1 when empty
	waiters     atomic.Int32
	notify      chan struct{}
}

type node struct {
	a    *Alert
	next int32 // next slot of the same FIFO, or of the free list
}

// fifo is one tenant's alerts: slots head..tail linked by node.next.
type fifo struct {
	head, tail int32
	n          int32
	next       int32 // next tenant in the round-robin list
}

// pushResult says whether push took the alert, and if not, why.
type pushResult uint8

const (
	pushed pushResult = iota
	// full: every slot is taken.
	full
	// overShare: the tenant already holds its share of the slots.
	overShare
)

// newQueue returns a queue of size slots (one at least) for the given
// number of consumers.
func newQueue(size, consumers int) *queue {
	size = max(size, 1)
	q := &queue{nodes: make([]node, size), first: -1, last: -1, notify: make(chan struct{}, max(consumers, 1))}
	for i := range q.nodes {
		q.nodes[i].next = int32(i + 1)
	}
	q.nodes[size-1].next = -1
	return q
}

// share returns how many slots a tenant may hold while active tenants
// (itself included) have alerts waiting.
func (q *queue) share(active int) int32 {
	return int32(max(1, len(q.nodes)/(active+1)))
}

// push adds a to tenant's FIFO; tenant is a small dense id (see
// Dispatcher.admit).
func (q *queue) push(tenant int32, a *Alert) pushResult {
	q.mu.Lock()
	if int(tenant) >= len(q.tenants) {
		q.grow(tenant)
	}
	t := &q.tenants[tenant]
	active := q.active
	if t.n == 0 {
		active++
	}
	switch {
	case q.free < 0:
		q.mu.Unlock()
		return full
	case t.n >= q.share(active):
		q.mu.Unlock()
		return overShare
	}
	i := q.free
	q.free = q.nodes[i].next
	q.nodes[i] = node{a: a, next: -1}
	if t.n == 0 {
		t.head = i
		q.enlist(tenant)
		q.active++
	} else {
		q.nodes[t.tail].next = i
	}
	t.tail = i
	t.n++
	q.n++
	q.mu.Unlock()
	if q.waiters.Load() > 0 {
		select {
		case q.notify <- struct{}{}:
		default: // enough wake-ups pending already
		}
	}
	return pushed
}

// grow makes room for tenant ids up to tenant.
func (q *queue) grow(tenant int32) {
	for int32(len(q.tenants)) <= tenant {
		q.tenants = append(q.tenants, fifo{head: -1, tail: -1, next: -1})
	}
}

// enlist appends tenant to the round-robin list.
func (q *queue) enlist(tenant int32) {
	q.tenants[tenant].next = -1
	if q.last >= 0 {
		q.tenants[q.last].next = tenant
	} else {
		q.first = tenant
	}
	q.last = tenant
}

// pop removes the oldest alert of the next tenant in turn, or reports
// false when the queue is empty.
func (q *queue) pop() (*Alert, bool) {
	q.mu.Lock()
	if q.first < 0 {
		q.mu.Unlock()
		return nil, false
	}
	tenant := q.first
	t := &q.tenants[tenant]
	q.first = t.next
	if q.first < 0 {
		q.last = -1
	}
	i := t.head
	a := q.nodes[i].a
	t.head = q.nodes[i].next
	t.n--
	q.nodes[i] = node{next: q.free}
	q.free = i
	q.n--
	if t.n > 0 {
		q.enlist(tenant) // to the back of the line
	} else {
		t.head, t.tail = -1, -1
		q.active--
	}
	q.mu.Unlock()
	return a, true
}

// wait pops the next alert, parking until one comes or stop is closed
// and the queue is empty (then it reports false).
func (q *queue) wait(stop <-chan struct{}) (*Alert, bool) {
	for {
		if a, ok := q.pop(); ok {
			return a, true
		}
		q.waiters.Add(1)
		// re-check after announcing ourselves: a push that came between
		// the pop above and the Add either is seen here or sees the waiter
		if a, ok := q.pop(); ok {
			q.waiters.Add(-1)
			return a, true
		}
		select {
		case <-q.notify:
			q.waiters.Add(-1)
		case <-stop:
			q.waiters.Add(-1)
			if a, ok := q.pop(); ok {
				return a, true
			}
			return nil, false
		}
	}
}

// len returns the number of queued alerts (a snapshot).
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// cap returns the queue's capacity.
func (q *queue) cap() int { return len(q.nodes) }

package alert

import (
	"sync/atomic"
)

// queue is a bounded lock-free multi-producer multi-consumer ring of
// alerts (after Vyukov's bounded MPMC queue): push never blocks and fails
// when full, pop fails when empty. Idle consumers park on notify; a
// producer signals only when some consumer is parked, so a busy
// destination costs the event path two atomic operations per alert.
type queue struct {
	_       [64]byte // keep the producers' and consumers' counters on separate cache lines
	tail    atomic.Uint64
	_       [56]byte
	head    atomic.Uint64
	_       [56]byte
	waiters atomic.Int32
	mask    uint64
	slots   []slot
	notify  chan struct{}
}

type slot struct {
	seq atomic.Uint64
	a   *Alert
}

// newQueue returns a queue holding at least size alerts (rounded up to a
// power of two, two at least) for the given number of consumers.
func newQueue(size, consumers int) *queue {
	n := 2 // the sequence scheme needs two slots at least
	for n < size {
		n <<= 1
	}
	q := &queue{mask: uint64(n - 1), slots: make([]slot, n), notify: make(chan struct{}, consumers)}
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
	return q
}

// push adds a, or reports false when the queue is full.
func (q *queue) push(a *Alert) bool {
	for {
		pos := q.tail.Load()
		s := &q.slots[pos&q.mask]
		seq := s.seq.Load()
		switch {
		case seq == pos:
			if q.tail.CompareAndSwap(pos, pos+1) {
				s.a = a
				s.seq.Store(pos + 1)
				if q.waiters.Load() > 0 {
					select {
					case q.notify <- struct{}{}:
					default: // enough wake-ups pending already
					}
				}
				return true
			}
		case seq < pos:
			return false // the slot still holds an alert a lap behind: full
		}
		// another producer took pos: retry with the new tail
	}
}

// pop removes the oldest alert, or reports false when the queue is empty.
func (q *queue) pop() (*Alert, bool) {
	for {
		pos := q.head.Load()
		s := &q.slots[pos&q.mask]
		seq := s.seq.Load()
		switch {
		case seq == pos+1:
			if q.head.CompareAndSwap(pos, pos+1) {
				a := s.a
				s.a = nil
				s.seq.Store(pos + q.mask + 1)
				return a, true
			}
		case seq < pos+1:
			return nil, false
		}
	}
}

// wait pops the next alert, parking until one comes or stop is closed
// (then it reports false).
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
			return nil, false
		}
	}
}

// len returns the number of queued alerts (a snapshot).
func (q *queue) len() int {
	t, h := q.tail.Load(), q.head.Load()
	if t < h {
		return 0
	}
	return int(t - h)
}

// cap returns the queue's capacity.
func (q *queue) cap() int { return len(q.slots) }

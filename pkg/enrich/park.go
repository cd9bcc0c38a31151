package enrich

import "github.com/vigilsec/vigil/pkg/event"

// maxAncestry bounds the ancestors copied with a parked event; any deeper
// ones stay shared with the process table.
const maxAncestry = 256

// parked is an event waiting in the side queue with its own copies of the
// views the state stage changes in place (the process and its ancestors on
// exec, credentials and exit; the descriptor on connect, bind and use), so
// that it is released as it was when it arrived. One allocation holds the
// event and its descriptor, one the process chain.
type parked struct {
	ev event.Event
	fd event.FD
}

// park returns a copy of ev that owns its views.
func park(ev *event.Event) *event.Event {
	p := &parked{ev: *ev}
	if ev.FD != nil {
		p.fd = *ev.FD
		p.ev.FD = &p.fd
	}
	p.ev.Proc = snapshotProc(ev.Proc)
	return &p.ev
}

// snapshotProc copies p and its ancestors (up to maxAncestry) into one
// allocation, linked as the originals are. Strings and the argument slice
// are shared: the state stage replaces them, never writes into them.
func snapshotProc(p *event.Process) *event.Process {
	if p == nil {
		return nil
	}
	n := 0
	for q := p; q != nil && n < maxAncestry; q = q.Parent {
		n++
	}
	chain := make([]event.Process, n)
	q := p
	for i := range chain {
		chain[i] = *q
		if i > 0 {
			chain[i-1].Parent = &chain[i]
		}
		q = q.Parent
	}
	return &chain[0]
}

package probe

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"
)

// recordCap is the initial capacity of a queue buffer; most records fit.
const recordCap = 512

// pollInterval is how often the reader looks for records the kernel wrote
// without waking it (see wakeupBytes), and how long Run takes to notice
// that its context is done.
const pollInterval = 5 * time.Millisecond

// Run reads records until ctx is cancelled and calls handle with each, in
// order, on the calling goroutine. The ring buffer reader never waits for
// handle: records go through a bounded queue, and when the queue is full
// they are dropped and counted (Stats.QueueDrops). rec is valid only until
// handle returns. Run returns nil when ctx is cancelled; it must not be
// called twice at once.
func (p *Probe) Run(ctx context.Context, handle func(rec []byte)) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("probe: Run is already running")
	}
	defer p.running.Store(false)

	n := p.cfg.QueueSize
	free := make(chan []byte, n)
	full := make(chan []byte, n)
	for range n {
		free <- make([]byte, 0, recordCap)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var readErr error
	go func() {
		defer wg.Done()
		defer close(full)
		readErr = p.read(ctx, free, full)
	}()
	for rec := range full {
		handle(rec)
		free <- rec[:0]
	}
	wg.Wait()
	return readErr
}

// read moves records from the ring buffer to full until ctx is done.
func (p *Probe) read(ctx context.Context, free <-chan []byte, full chan<- []byte) error {
	var rec ringbuf.Record
	p.reader.SetDeadline(time.Now().Add(pollInterval))
	for {
		err := p.reader.ReadInto(&rec)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return nil
			}
			p.reader.SetDeadline(time.Now().Add(pollInterval))
			continue
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			p.log.Warn("ring buffer read", zap.Error(err))
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		p.records.Add(1)
		select {
		case buf := <-free:
			full <- append(buf, rec.RawSample...)
		default:
			p.queueDrops.Add(1)
		}
	}
}

package probe

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"
)

// pollInterval is how often the reader looks for records the kernel wrote
// without waking it (see wakeupBytes), and how long Run takes to notice
// that its context is done.
const pollInterval = 5 * time.Millisecond

// Records travel from the reader to the consumer in batches, so that the
// hand-over costs one channel operation per batch, not per record.
const (
	batchRecords = 256
	batchBytes   = 64 << 10
)

// batch is a run of records: record i is data[ends[i-1]:ends[i]].
type batch struct {
	data []byte
	ends []int
}

// recordSource is where records come from: the ring buffer's
// *ringbuf.Reader, or a fake in tests.
type recordSource interface {
	ReadInto(rec *ringbuf.Record) error
	SetDeadline(t time.Time)
	AvailableBytes() int
}

// Run reads records until ctx is cancelled and calls handle with each, in
// order, on the calling goroutine. The ring buffer reader never waits for
// handle: records go through a bounded queue (Config.QueueSize records, in
// batches), and when the queue is full they are dropped and counted
// (Stats.QueueDrops). rec is valid only until handle returns. Run returns
// nil when ctx is cancelled; it must not be called twice at once.
func (p *Probe) Run(ctx context.Context, handle func(rec []byte)) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("probe: Run is already running")
	}
	defer p.running.Store(false)
	q := queue{src: p.reader, size: p.cfg.QueueSize, log: p.log, records: &p.records, drops: &p.queueDrops}
	return q.run(ctx, handle)
}

// queue moves records from a source to a consumer through a bounded queue.
type queue struct {
	src     recordSource
	size    int // records
	log     *zap.Logger
	records *atomic.Uint64 // read from src
	drops   *atomic.Uint64 // read but dropped: the queue was full
}

func (q *queue) run(ctx context.Context, handle func(rec []byte)) error {
	n := max(2, q.size/batchRecords)
	free := make(chan *batch, n)
	full := make(chan *batch, n)
	var wg sync.WaitGroup
	wg.Add(1)
	var readErr error
	go func() {
		defer wg.Done()
		defer close(full)
		readErr = q.read(ctx, n, free, full)
	}()
	for b := range full {
		start := 0
		for _, end := range b.ends {
			handle(b.data[start:end])
			start = end
		}
		b.data, b.ends = b.data[:0], b.ends[:0]
		free <- b
	}
	wg.Wait()
	return readErr
}

// read moves records from the ring buffer to full until ctx is done. A
// batch is handed over when it is full, when the ring buffer is empty, and
// at every poll, so a quiet stream is not held back.
//
// Batches are allocated as the backlog needs them, up to n: memory follows
// the backlog, not the configured bound.
func (q *queue) read(ctx context.Context, n int, free <-chan *batch, full chan<- *batch) error {
	var rec ringbuf.Record
	var cur *batch
	allocated := 0
	flush := func() {
		if cur != nil && len(cur.ends) > 0 {
			full <- cur // never blocks: full holds every batch
			cur = nil
		}
	}
	defer flush()
	q.src.SetDeadline(time.Now().Add(pollInterval))
	for {
		if cur != nil && len(cur.ends) > 0 && q.src.AvailableBytes() == 0 {
			flush()
		}
		err := q.src.ReadInto(&rec)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			flush()
			if ctx.Err() != nil {
				return nil
			}
			q.src.SetDeadline(time.Now().Add(pollInterval))
			continue
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			q.log.Warn("ring buffer read", zap.Error(err))
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		q.records.Add(1)
		if cur == nil {
			select {
			case cur = <-free:
			default:
				if allocated == n {
					q.drops.Add(1)
					continue
				}
				allocated++
				cur = &batch{data: make([]byte, 0, batchBytes), ends: make([]int, 0, batchRecords)}
			}
		}
		cur.data = append(cur.data, rec.RawSample...)
		cur.ends = append(cur.ends, len(cur.data))
		if len(cur.ends) >= batchRecords || len(cur.data) >= batchBytes {
			flush()
		}
	}
}

package alert

import (
	"context"
	"errors"
	"fmt"
)

// Sink delivers alerts to one destination. The Dispatcher calls Send from
// the destination's own workers, never from the event path, and retries
// errors unless they are Permanent. Send must honour ctx (it is cancelled
// when shutdown runs out of time) and be safe for concurrent use when the
// destination has more than one worker. Sinks never modify the alert: the
// same *Alert is shared by every destination. Close releases the sink once
// no Send runs any more, within ctx (the Dispatcher stops waiting for it
// when ctx ends); alerts it had accepted but could not hand on are
// reported with Lost.
type Sink interface {
	Send(ctx context.Context, a *Alert) error
	Close(ctx context.Context) error
}

// Destination is one configured output: a sink, which alerts reach it, and
// how they are queued and retried.
type Destination struct {
	// Name identifies the destination in stats and logs ("slack",
	// "slack/tenant-a" ...); names are unique within a Dispatcher.
	Name     string
	Route    Route
	Delivery Delivery
	Sink     Sink
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (e.g. an HTTP 4xx answer): the
// alert is dropped at once with reason DropRejected.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type lostError struct {
	n   uint64
	err error
}

func (e lostError) Error() string { return e.err.Error() }
func (e lostError) Unwrap() error { return e.err }

// Lost marks err, returned by a Sink's Close, as the loss of n alerts
// whose Send had succeeded (e.g. held in a reconnect buffer while
// disconnected): the Dispatcher moves them from the destination's Sent
// count to Dropped with reason DropShutdown.
func Lost(n uint64, err error) error {
	if err == nil {
		err = fmt.Errorf("%d alerts lost", n)
	}
	return lostError{n, err}
}

// LostCount returns the number of alerts a Lost error in err's chain
// reports, 0 when there is none.
func LostCount(err error) uint64 {
	var l lostError
	if errors.As(err, &l) {
		return l.n
	}
	return 0
}

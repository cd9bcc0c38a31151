package alert

import (
	"context"
	"errors"
)

// Sink delivers alerts to one destination. The Dispatcher calls Send from
// the destination's own workers, never from the event path, and retries
// errors unless they are Permanent. Send must honour ctx (it is cancelled
// when shutdown runs out of time) and be safe for concurrent use when the
// destination has more than one worker. Sinks never modify the alert: the
// same *Alert is shared by every destination.
type Sink interface {
	Send(ctx context.Context, a *Alert) error
	Close() error
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

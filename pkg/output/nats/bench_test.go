package nats

import (
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// BenchmarkSend publishes to an embedded server with a subscriber on
// every alert subject (core), and with JetStream acknowledgements to a
// file-backed stream, one acknowledged publish at a time.
func BenchmarkSend(b *testing.B) {
	s := testutil.NATSServer(b, &server.Options{JetStream: true, StoreDir: b.TempDir()})
	url := s.ClientURL()
	a := mkAlert("tenant-a", alert.PriorityWarning, 1)

	b.Run("core", func(b *testing.B) {
		sub, err := New(Config{URL: url}, alert.Format{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close(context.Background())
		got := 0
		if _, err := sub.nc.Subscribe("vigil.alerts.>", func(*gonats.Msg) { got++ }); err != nil {
			b.Fatal(err)
		}
		sub.nc.Flush()
		o, err := New(Config{URL: url}, alert.Format{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer o.Close(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if err := o.Send(context.Background(), a); err != nil {
				b.Fatal(err)
			}
		}
		if err := o.nc.Flush(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("jetstream", func(b *testing.B) {
		o, err := New(Config{URL: url, JetStream: JetStream{Enabled: true, Stream: "BENCH", CreateStream: true}}, alert.Format{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer o.Close(context.Background())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			a := mkAlert("tenant-a", alert.PriorityWarning, i) // distinct payloads: no dedupe
			if err := o.Send(context.Background(), a); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		if err := o.js.DeleteStream(context.Background(), "BENCH"); err != nil && err != jetstream.ErrStreamNotFound {
			b.Fatal(err)
		}
	})
}

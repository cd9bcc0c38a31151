package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

// BenchmarkSend posts alerts to a local httptest server, one request at a
// time and from parallel senders (as with several workers).
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	o, err := New(Config{URL: srv.URL}, alert.Format{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close(context.Background())
	a := sample()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := o.Send(context.Background(), a); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := o.Send(context.Background(), a); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
}

package slack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

// BenchmarkSend posts Slack messages to a local httptest server.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	o, err := New(Config{WebhookURL: srv.URL}, alert.Format{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close(context.Background())
	a := samples()["container"]
	for b.Loop() {
		if err := o.Send(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

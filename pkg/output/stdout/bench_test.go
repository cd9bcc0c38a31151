package stdout

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

// BenchmarkSend writes alert lines to /dev/null (the cost of formatting
// and one write per alert).
func BenchmarkSend(b *testing.B) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			o := New(Config{Format: format}, null, alert.Format{Location: time.UTC})
			b.ReportAllocs()
			for b.Loop() {
				if err := o.Send(context.Background(), sample); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

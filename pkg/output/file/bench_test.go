package file

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
)

// BenchmarkSend appends JSON lines to a file in a temporary directory,
// rotating every 8 MiB, under each fsync policy.
func BenchmarkSend(b *testing.B) {
	for _, fsync := range []string{FsyncNever, FsyncInterval, FsyncAlways} {
		b.Run(fsync, func(b *testing.B) {
			o, err := New(Config{Path: filepath.Join(b.TempDir(), "a.json"), Fsync: fsync, MaxSize: 8 << 20, MaxFiles: 2}, alert.Format{})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close(context.Background())
			a := alertN(1)
			b.ReportAllocs()
			for b.Loop() {
				if err := o.Send(context.Background(), a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

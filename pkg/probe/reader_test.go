package probe

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"
)

// fakeSource yields n numbered records, pausing every pace records when
// pace > 0, then times out like an empty ring buffer until the deadline.
type fakeSource struct {
	mu       sync.Mutex
	next, n  uint32
	pace     uint32
	deadline time.Time
	buf      [4]byte
}

func (f *fakeSource) ReadInto(rec *ringbuf.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next < f.n {
		if f.pace > 0 && f.next%f.pace == 0 {
			time.Sleep(time.Millisecond)
		}
		binary.LittleEndian.PutUint32(f.buf[:], f.next)
		f.next++
		rec.RawSample = f.buf[:]
		return nil
	}
	f.mu.Unlock()
	time.Sleep(time.Until(f.deadline))
	f.mu.Lock()
	return os.ErrDeadlineExceeded
}

func (f *fakeSource) SetDeadline(t time.Time) {
	f.mu.Lock()
	f.deadline = t
	f.mu.Unlock()
}

func (f *fakeSource) AvailableBytes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(f.n-f.next) * 4
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name      string
		n         uint32
		pace      uint32
		size      int
		slow      bool // the consumer blocks until every record is read
		wantDrops bool
	}{
		{"queue holds everything", 10000, 100, 1 << 16, false, false},
		{"consumer stalls", 10000, 0, 512, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{n: tt.n, pace: tt.pace}
			var records, drops atomic.Uint64
			q := queue{src: src, size: tt.size, log: zap.NewNop(), records: &records, drops: &drops}
			ctx, cancel := context.WithCancel(context.Background())
			var got []uint32
			done := make(chan error)
			go func() {
				done <- q.run(ctx, func(rec []byte) {
					if tt.slow {
						for records.Load() < uint64(tt.n) {
							time.Sleep(time.Millisecond)
						}
					}
					got = append(got, binary.LittleEndian.Uint32(rec))
					if uint64(len(got))+drops.Load() == uint64(tt.n) {
						cancel()
					}
				})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if records.Load() != uint64(tt.n) || uint64(len(got))+drops.Load() != uint64(tt.n) {
				t.Fatalf("read %d, handled %d, dropped %d of %d", records.Load(), len(got), drops.Load(), tt.n)
			}
			if (drops.Load() > 0) != tt.wantDrops {
				t.Errorf("drops %d", drops.Load())
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("out of order: %d after %d", got[i], got[i-1])
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		key  string
	}{
		{"default", func(*Config) {}, ""},
		{"generic", func(c *Config) { c.Attach = AttachGeneric }, ""},
		{"ring not a power of two", func(c *Config) { c.RingBufferSize = 3 << 20 }, "ring_buffer_size"},
		{"ring too small", func(c *Config) { c.RingBufferSize = 1024 }, "ring_buffer_size"},
		{"ring too big", func(c *Config) { c.RingBufferSize = 2 << 30 }, "ring_buffer_size"},
		{"queue zero", func(c *Config) { c.QueueSize = 0 }, "queue_size"},
		{"attach", func(c *Config) { c.Attach = "kprobe" }, "attach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || len(err.Error()) < len(tt.key) || err.Error()[:len(tt.key)] != tt.key {
				t.Fatalf("err %v, want one naming %s", err, tt.key)
			}
		})
	}
}

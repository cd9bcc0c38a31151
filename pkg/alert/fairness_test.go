package alert

import (
	"context"
	"testing"
	"time"
)

// TestNoisyNeighbourQueue: with no rate limit to help, tenant-b floods a
// destination whose sink takes 1 ms per alert, fifty times faster than it
// drains, so its backlog always fills its share of the queue. tenant-a
// raises one alert at a time: each is delivered, and its Send begins after
// at most one tenant-b alert whose turn came first (plus one per worker
// that began between the snapshot and the Enqueue), never after tenant-b's
// backlog.
func TestNoisyNeighbourQueue(t *testing.T) {
	tests := []struct {
		name    string
		workers int
	}{
		{"one worker", 1},
		{"two workers", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.delay = time.Millisecond
			d := mustNew(t, noLimit(), Destination{Name: "x", Sink: r, Delivery: Delivery{QueueSize: 256, Workers: tt.workers}})
			stop, flooded := make(chan struct{}), make(chan int)
			go func() {
				n := 0
				defer func() { flooded <- n }()
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					for range 50 {
						d.Enqueue(&Alert{Rule: "flood", Tenant: "tenant-b"})
						n++
					}
				}
			}()
			// let tenant-b's backlog build up to its share
			for deadline := time.Now().Add(10 * time.Second); d.Stats().Outputs["x"].Dropped[DropTenantShare] == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("tenant-b's flood never reached its share of the queue")
				}
			}
			const own = 20
			worst := 0
			for i := range own {
				a := &Alert{Rule: "own", Tenant: "tenant-a"}
				before := len(r.started())
				d.Enqueue(a)
				pos := -1
				for deadline := time.Now().Add(10 * time.Second); pos < 0; time.Sleep(100 * time.Microsecond) {
					got := r.started()
					for j := before; j < len(got); j++ {
						if got[j] == a {
							pos = j
						}
					}
					if pos < 0 && time.Now().After(deadline) {
						t.Fatalf("tenant-a's alert %d not delivered; stats %+v", i, d.Stats().Outputs["x"])
					}
				}
				behind := 0 // tenant-b alerts begun between its Enqueue and its own
				for _, b := range r.started()[before:pos] {
					if b.Tenant == "tenant-b" {
						behind++
					}
				}
				worst = max(worst, behind)
			}
			close(stop)
			floods := <-flooded
			if worst > 1+tt.workers {
				t.Errorf("a tenant-a alert was delivered behind %d tenant-b alerts", worst)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_ = d.Close(ctx) // tenant-b's backlog need not be delivered
			st := d.Stats().Outputs["x"]
			if st.Dropped[DropQueueFull] != 0 {
				t.Errorf("the queue filled up: %+v", st)
			}
			var dropped uint64
			for _, n := range st.Dropped {
				dropped += n
			}
			if st.Sent+dropped != uint64(floods+own) {
				t.Errorf("sent %d + dropped %d != %d alerts", st.Sent, dropped, floods+own)
			}
			t.Logf("tenant-a behind at most %d tenant-b alerts; tenant-b: %d alerts, %d dropped beyond its share",
				worst, floods, st.Dropped[DropTenantShare])
		})
	}
}

package alert

import (
	"runtime"
	"sync"
	"testing"
)

func TestQueueFIFOAndBounds(t *testing.T) {
	tests := []struct{ size, capacity int }{{1, 2}, {3, 4}, {8, 8}, {1000, 1024}}
	for _, tt := range tests {
		q := newQueue(tt.size, 1)
		if q.cap() != tt.capacity {
			t.Errorf("newQueue(%d).cap() = %d, want %d", tt.size, q.cap(), tt.capacity)
		}
		alerts := make([]*Alert, tt.capacity)
		for lap := range 3 { // wrap around the ring several times
			for i := range alerts {
				alerts[i] = &Alert{Rule: string(rune('a' + i%26))}
				if !q.push(alerts[i]) {
					t.Fatalf("size %d lap %d: push %d refused", tt.size, lap, i)
				}
			}
			if q.push(&Alert{}) {
				t.Fatalf("size %d: push beyond capacity accepted", tt.size)
			}
			if q.len() != tt.capacity {
				t.Errorf("len = %d", q.len())
			}
			for i := range alerts {
				a, ok := q.pop()
				if !ok || a != alerts[i] {
					t.Fatalf("size %d lap %d: pop %d = %v, %v", tt.size, lap, i, a, ok)
				}
			}
			if _, ok := q.pop(); ok {
				t.Fatal("pop from empty queue succeeded")
			}
		}
	}
}

// TestQueueConcurrent: 4 producers and 3 consumers; every accepted alert is
// received exactly once, and accepted + refused = pushed.
func TestQueueConcurrent(t *testing.T) {
	q := newQueue(64, 3)
	const producers, perProducer = 4, 20000
	alerts := make([]Alert, producers*perProducer)
	stop := make(chan struct{})
	var got sync.Map
	var received, accepted sync.WaitGroup
	var refused [producers]int
	var consumers sync.WaitGroup
	for range 3 {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for {
				a, ok := q.wait(stop)
				if !ok {
					return
				}
				if _, dup := got.LoadOrStore(a, true); dup {
					t.Errorf("alert received twice")
				}
				received.Done()
			}
		}()
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				received.Add(1)
				if !q.push(&alerts[p*perProducer+i]) {
					received.Done()
					refused[p]++
					runtime.Gosched() // let the consumers catch up
				}
			}
		}()
	}
	wg.Wait()
	received.Wait() // every accepted alert was received: no lost wake-up
	close(stop)
	consumers.Wait()
	accepted.Wait()
	n := 0
	got.Range(func(any, any) bool { n++; return true })
	total := 0
	for _, r := range refused {
		total += r
	}
	if n+total != producers*perProducer {
		t.Errorf("received %d + refused %d != %d", n, total, producers*perProducer)
	}
	t.Logf("received %d, refused %d (queue full)", n, total)
}

package alert

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestQueueOrderAndBounds pushes a script of (tenant, alert) and checks
// what each push answers and the order pop returns: FIFO within a tenant,
// one alert per waiting tenant in turn, a tenant held to its share, the
// whole queue to its size.
func TestQueueOrderAndBounds(t *testing.T) {
	type push struct {
		tenant int32
		want   pushResult
	}
	tests := []struct {
		name   string
		size   int
		pushes []push
		want   string // tenant:index of each popped alert, in order
	}{
		{"one tenant FIFO", 8, []push{{0, pushed}, {0, pushed}, {0, pushed}}, "0:0 0:1 0:2"},
		{"one tenant holds half", 8, []push{{0, pushed}, {0, pushed}, {0, pushed}, {0, pushed}, {0, overShare}}, "0:0 0:1 0:2 0:3"},
		{"size one", 1, []push{{0, pushed}, {0, full}, {1, full}}, "0:0"},
		{"round robin", 16, []push{{0, pushed}, {0, pushed}, {0, pushed}, {1, pushed}, {2, pushed}, {1, pushed}},
			"0:0 1:3 2:4 0:1 1:5 0:2"},
		// tenant 0 fills its share alone (4 of 8); tenant 1 still has room:
		// with two tenants waiting, each may hold 8/3 = 2
		{"share shrinks as tenants come", 8, []push{{0, pushed}, {0, pushed}, {0, pushed}, {0, pushed}, {1, pushed}, {1, pushed}, {1, overShare}, {0, overShare}},
			"0:0 1:4 0:1 1:5 0:2 0:3"},
		// four tenants, one alert each, fill 4 of 5 slots; the fifth comes
		// in, then the queue is full
		{"full", 5, []push{{0, pushed}, {1, pushed}, {2, pushed}, {3, pushed}, {4, pushed}, {5, full}}, "0:0 1:1 2:2 3:3 4:4"},
		{"sparse ids", 4, []push{{9, pushed}, {3, pushed}}, "9:0 3:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(tt.size, 1)
			if q.cap() != max(tt.size, 1) {
				t.Errorf("cap %d, want %d", q.cap(), tt.size)
			}
			for lap := range 3 { // the slots are reused
				alerts := map[*Alert]string{}
				n := 0
				for i, p := range tt.pushes {
					a := &Alert{}
					if got := q.push(p.tenant, a); got != p.want {
						t.Fatalf("lap %d push %d (tenant %d) = %d, want %d", lap, i, p.tenant, got, p.want)
					}
					if p.want == pushed {
						alerts[a] = fmt.Sprintf("%d:%d", p.tenant, i)
						n++
					}
				}
				if q.len() != n {
					t.Errorf("len %d, want %d", q.len(), n)
				}
				got := ""
				for a, ok := q.pop(); ok; a, ok = q.pop() {
					if got != "" {
						got += " "
					}
					got += alerts[a]
				}
				if got != tt.want {
					t.Errorf("lap %d popped %s, want %s", lap, got, tt.want)
				}
				if q.len() != 0 {
					t.Errorf("len %d after draining", q.len())
				}
			}
		})
	}
}

// TestQueueConcurrent: 4 producers (one tenant each) and 3 consumers;
// every accepted alert is received exactly once, and accepted + refused =
// pushed.
func TestQueueConcurrent(t *testing.T) {
	q := newQueue(64, 3)
	const producers, perProducer = 4, 20000
	alerts := make([]Alert, producers*perProducer)
	stop := make(chan struct{})
	var got sync.Map
	var received sync.WaitGroup
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
				if q.push(int32(p), &alerts[p*perProducer+i]) != pushed {
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
	n := 0
	got.Range(func(any, any) bool { n++; return true })
	total := 0
	for _, r := range refused {
		total += r
	}
	if n+total != producers*perProducer {
		t.Errorf("received %d + refused %d != %d", n, total, producers*perProducer)
	}
	if q.len() != 0 {
		t.Errorf("len %d after draining", q.len())
	}
	t.Logf("received %d, refused %d", n, total)
}

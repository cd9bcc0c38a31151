package enrich

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

func lruIDs(l *lru) []uint64 {
	var ids []uint64
	for e := l.head; e != nil; e = e.next {
		ids = append(ids, e.id)
	}
	return ids
}

func TestLRUBoundAndOrder(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		adds    []uint64
		gets    []uint64
		waiting []uint64 // ids with a parked event before the last add
		last    uint64
		want    []uint64 // most recent first
	}{
		{"under bound", 3, []uint64{1, 2}, nil, nil, 3, []uint64{3, 2, 1}},
		{"evicts oldest", 3, []uint64{1, 2, 3}, nil, nil, 4, []uint64{4, 3, 2}},
		{"get refreshes", 3, []uint64{1, 2, 3}, []uint64{1}, nil, 4, []uint64{4, 1, 3}},
		{"waiting entries stay", 2, []uint64{1, 2}, nil, []uint64{1}, 3, []uint64{3, 1}},
		{"all waiting overflow", 1, []uint64{1}, nil, []uint64{1}, 2, []uint64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLRU(tt.max)
			for _, id := range tt.adds {
				l.add(&entry{id: id})
			}
			for _, id := range tt.gets {
				if l.get(id) == nil {
					t.Fatalf("get(%d) = nil", id)
				}
			}
			for _, id := range tt.waiting {
				l.m[id].waiting = []*event.Event{{}}
			}
			l.add(&entry{id: tt.last})
			got := lruIDs(l)
			if len(got) != len(tt.want) || l.len() != len(tt.want) {
				t.Fatalf("entries %v (len %d), want %v", got, l.len(), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("entries %v, want %v", got, tt.want)
				}
			}
			if l.tail == nil || l.tail.id != tt.want[len(tt.want)-1] {
				t.Fatalf("tail %+v, want %d", l.tail, tt.want[len(tt.want)-1])
			}
		})
	}
}

func TestLRURemove(t *testing.T) {
	l := newLRU(4)
	for id := uint64(1); id <= 3; id++ {
		l.add(&entry{id: id})
	}
	l.remove(l.m[2])
	if got := lruIDs(l); len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Fatalf("after remove: %v", got)
	}
	l.remove(l.m[3])
	l.remove(l.m[1])
	if l.head != nil || l.tail != nil || l.len() != 0 {
		t.Fatal("list not empty")
	}
	if l.get(1) != nil {
		t.Fatal("removed entry found")
	}
}

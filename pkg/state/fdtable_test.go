package state

import (
	"fmt"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

func TestFDTable(t *testing.T) {
	var tab fdTable
	nums := []int32{0, 7, 1023, 1024, 500000}
	for _, n := range nums {
		if !tab.set(n, &event.FD{Num: n, OpenFlags: uint64(n%2) * oCloexec}, 10) {
			t.Fatalf("set %d refused", n)
		}
	}
	if tab.set(-1, &event.FD{}, 10) || tab.get(-1) != nil {
		t.Fatal("negative fd stored")
	}
	if tab.n != len(nums) || len(tab.dense) > denseFDs || len(tab.sparse) != 2 {
		t.Fatalf("n %d dense %d sparse %d", tab.n, len(tab.dense), len(tab.sparse))
	}
	c := tab.clone()
	if c.del(7) == nil || tab.get(7) == nil {
		t.Fatal("clone shares its index with the original")
	}
	if c.get(500000) != tab.get(500000) {
		t.Fatal("clone does not share the fd values")
	}
	tab.dropCloexec()
	var got []int32
	for _, fd := range tab.sorted() {
		got = append(got, fd.Num)
	}
	if fmt.Sprint(got) != "[0 1024 500000]" || tab.n != 3 {
		t.Fatalf("after dropCloexec: %v (n %d)", got, tab.n)
	}
	small := fdTable{}
	for n := int32(0); n < 3; n++ {
		small.set(n, &event.FD{Num: n}, 2)
	}
	if small.n != 2 || small.get(2) != nil || !small.set(1, &event.FD{Num: 1}, 2) {
		t.Fatalf("limit: n %d", small.n)
	}
	if small.del(1) == nil || small.del(1) != nil || small.n != 1 {
		t.Fatal("del")
	}
}

package probe

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

func TestOpenatRelative(t *testing.T) {
	for _, mode := range []string{AttachPerSyscall, AttachGeneric} {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			p := openProbe(t, cfg, event.TypeOpenat)
			s := startSession(t, p)
			dir := t.TempDir()
			res, pid := s.runAction("openat", dir, "rel.txt")
			var got []event.Event
			for _, ev := range s.of(pid) {
				if ev.Type == event.TypeOpenat && ev.Args.Path == "rel.txt" {
					got = append(got, ev)
				}
			}
			if len(got) != 1 {
				t.Fatalf("got %d openat events for rel.txt, want 1: %+v", len(got), got)
			}
			ev := got[0]
			t.Logf("%+v", ev)
			if ev.Args.DirFd != int32(res["dirfd"].(float64)) || ev.Ret != int64(res["fd"].(float64)) {
				t.Errorf("dirfd %d ret %d, want %v %v", ev.Args.DirFd, ev.Ret, res["dirfd"], res["fd"])
			}
		})
	}
}

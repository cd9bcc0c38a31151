package prefilter

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

// TestLayoutCoversFilteredArgs checks that every type whose path arguments
// the filter bounds has them located for the kernel, and the reverse.
func TestLayoutCoversFilteredArgs(t *testing.T) {
	for typ := range event.NumTypes {
		l := LayoutOf(typ)
		args, bounded := pathArgs[typ]
		for i := range 2 {
			if bounded && len(args[i]) > 0 && l.PathStr[i] == None {
				t.Errorf("%s: path %d is bounded but not located", typ, i+1)
			}
			if l.PathStr[i] != None && (!bounded || len(args[i]) == 0) && !isOpen(typ) {
				t.Errorf("%s: path %d is located but never bounded", typ, i+1)
			}
		}
		if hasFlags(typ) != (l.Flags != FlagsNone) {
			t.Errorf("%s: flags located %v, bounded %v", typ, l.Flags != FlagsNone, hasFlags(typ))
		}
	}
}

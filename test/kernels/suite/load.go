package suite

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

// maxVerifierLines bounds the verifier log kept per program: the end of a
// log holds the rejected instruction and the reason.
const maxVerifierLines = 80

// ProgramLoad is the outcome of loading one program of the probe alone.
type ProgramLoad struct {
	Program string `json:"program"`
	Section string `json:"section"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	// Verifier is the tail of the verifier log when the verifier rejected
	// the program.
	Verifier string `json:"verifier,omitempty"`
	Millis   int64  `json:"ms"`
}

// loadEach loads every program of the object at path on its own (with the
// maps it references), so that one rejected program does not hide the
// verdict on the others, and returns one result per program, sorted.
func loadEach(path string) ([]ProgramLoad, *ebpf.CollectionSpec, error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return loadSpec(spec), spec, nil
}

// loadSpec loads every program of spec on its own.
func loadSpec(spec *ebpf.CollectionSpec) []ProgramLoad {
	for _, m := range spec.Maps {
		if m.Type == ebpf.RingBuf && m.MaxEntries == 0 {
			m.MaxEntries = 1 << 20
		}
	}
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]ProgramLoad, 0, len(names))
	for _, name := range names {
		one := spec.Copy()
		for n := range one.Programs {
			if n != name {
				delete(one.Programs, n)
			}
		}
		res := ProgramLoad{Program: name, Section: spec.Programs[name].SectionName}
		t := time.Now()
		coll, err := ebpf.NewCollection(one)
		res.Millis = time.Since(t).Milliseconds()
		if err == nil {
			coll.Close()
			res.OK = true
		} else {
			res.Error = firstLine(err.Error())
			res.Verifier = verifierTail(err)
		}
		out = append(out, res)
	}
	return out
}

// verifierTail returns the last lines of the verifier log in err, or "".
func verifierTail(err error) string {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return ""
	}
	log := ve.Log
	if len(log) > maxVerifierLines {
		log = append([]string{fmt.Sprintf("(%d lines before)", len(log)-maxVerifierLines)}, log[len(log)-maxVerifierLines:]...)
	}
	return strings.Join(log, "\n")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

package engine

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// idFileLookup reads an /etc/passwd or /etc/group style file once and
// returns a lookup of names by numeric id (the third field). A missing file
// gives a lookup that never finds anything.
func idFileLookup(path string) func(id uint32) (string, bool) {
	names := map[uint32]string{}
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Split(sc.Text(), ":")
			if len(parts) < 3 || strings.HasPrefix(parts[0], "#") {
				continue
			}
			id, err := strconv.ParseUint(parts[2], 10, 32)
			if err != nil {
				continue
			}
			if _, dup := names[uint32(id)]; !dup {
				names[uint32(id)] = parts[0]
			}
		}
	}
	return func(id uint32) (string, bool) {
		n, ok := names[id]
		return n, ok
	}
}

package state

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// User is an /etc/passwd entry.
type User struct {
	// Name is the login name (user.name).
	Name string
	// Home is the home directory (user.homedir).
	Home string
	// Shell is the login shell (user.shell).
	Shell string
}

// userDB is one immutable load of the account files.
type userDB struct {
	users  map[uint32]User
	groups map[uint32]string
}

// Users resolves uids and gids to names from the host's /etc/passwd and
// /etc/group, read without cgo (no NSS: LDAP or systemd-homed accounts are
// not seen). Lookups read an immutable snapshot and are safe for concurrent
// use; Reload replaces it.
type Users struct {
	root string
	db   atomic.Pointer[userDB]
}

// NewUsers loads the account files under root ("/" for the host, or the
// host's root mounted elsewhere). A missing or unreadable file leaves its
// table empty; the error is reported.
func NewUsers(root string) (*Users, error) {
	u := &Users{root: root}
	err := u.Reload()
	return u, err
}

// Reload re-reads the account files. The previous tables stay in use when a
// file cannot be read.
func (u *Users) Reload() error {
	db := &userDB{}
	passwd, perr := os.ReadFile(filepath.Join(u.root, "etc", "passwd"))
	group, gerr := os.ReadFile(filepath.Join(u.root, "etc", "group"))
	old := u.db.Load()
	if perr == nil {
		db.users = ParsePasswd(passwd)
	} else if old != nil {
		db.users = old.users
	}
	if gerr == nil {
		db.groups = ParseGroup(group)
	} else if old != nil {
		db.groups = old.groups
	}
	u.db.Store(db)
	if perr != nil {
		return perr
	}
	return gerr
}

// User returns the account of uid.
func (u *Users) User(uid uint32) (User, bool) {
	db := u.db.Load()
	if db == nil {
		return User{}, false
	}
	usr, ok := db.users[uid]
	return usr, ok
}

// UserName returns the login name of uid (user.name, user.loginname).
func (u *Users) UserName(uid uint32) (string, bool) {
	usr, ok := u.User(uid)
	return usr.Name, ok
}

// GroupName returns the name of gid (group.name).
func (u *Users) GroupName(gid uint32) (string, bool) {
	db := u.db.Load()
	if db == nil {
		return "", false
	}
	name, ok := db.groups[gid]
	return name, ok
}

// ParsePasswd parses passwd(5) text into uid → user. Malformed lines and
// comments are skipped; the first entry of a uid wins, as with getpwuid.
func ParsePasswd(data []byte) map[uint32]User {
	out := make(map[uint32]User)
	eachRecord(data, func(f [][]byte) {
		if len(f) < 7 {
			return
		}
		uid, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			return
		}
		if _, dup := out[uint32(uid)]; dup {
			return
		}
		out[uint32(uid)] = User{Name: string(f[0]), Home: string(f[5]), Shell: string(f[6])}
	})
	return out
}

// ParseGroup parses group(5) text into gid → name.
func ParseGroup(data []byte) map[uint32]string {
	out := make(map[uint32]string)
	eachRecord(data, func(f [][]byte) {
		if len(f) < 3 {
			return
		}
		gid, err := strconv.ParseUint(string(f[2]), 10, 32)
		if err != nil {
			return
		}
		if _, dup := out[uint32(gid)]; dup {
			return
		}
		out[uint32(gid)] = string(f[0])
	})
	return out
}

// eachRecord calls fn with the colon-separated fields of each non-empty,
// non-comment line with a non-empty first field.
func eachRecord(data []byte, fn func([][]byte)) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || line[0] == ':' || line[0] == '+' || line[0] == '-' {
			continue
		}
		fn(bytes.Split(line, []byte{':'}))
	}
}

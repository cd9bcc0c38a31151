// Package capture writes and reads Vigil capture files: the raw kernel
// records of a recording, preceded by what is needed to decode them offline
// (architecture, boot-clock offset) and the initial process state.
//
// Layout (integers little-endian):
//
//	magic    "VIGILCAP"
//	version  u16 (1)
//	arch     u8 length, bytes ("amd64", "arm64")
//	offset   i64: wall clock minus boot clock, ns
//	state    u32 length, bytes (JSON)
//	records  u32 length, bytes; repeated to the end of the file
package capture

package probe

//go:generate go tool bpf2go -target amd64,arm64 -cflags "-O2 -g -Wall -Werror" -type record_header -type exe_info -type syscall_spec -type pf_type -type pf_path_key -type pf_value_key -type pf_atom vigil ../../bpf/vigil.c -- -I../../bpf/include

package probe

//go:generate go tool bpf2go -target amd64,arm64 -cflags "-O2 -g -Wall -Werror" -type record_header -type exe_info -type syscall_spec vigil ../../bpf/vigil.c -- -I../../bpf/include

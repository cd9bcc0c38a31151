// Command sleeper is the program of the test images: it waits for SIGTERM or
// SIGINT and exits 0. With arguments "exec <path> [args...]" it runs a
// program first (used to make a process start inside a container), and with
// "-pause" it only waits (a pod sandbox's pause process).
package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "exec" {
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		_ = cmd.Run()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

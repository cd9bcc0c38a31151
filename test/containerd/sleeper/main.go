// Command sleeper is the program of the test images: it waits for SIGTERM or
// SIGINT and exits 0. With arguments "exec <path> [args...]" it runs a
// program first (used to make a process start inside a container), with
// "replace <path> [args...]" it becomes that program (a second exec of the
// same process), and with "-pause" it only waits (a pod sandbox's pause
// process).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "replace" {
		err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
		fmt.Fprintln(os.Stderr, "sleeper: replace:", err)
		os.Exit(127)
	}
	if len(os.Args) > 2 && os.Args[1] == "exec" {
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		_ = cmd.Run()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

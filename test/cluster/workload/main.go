// Command workload is the test cluster's tenant workload: an HTTP server
// (installed as /usr/sbin/nginx in the image, so that rules see a server
// process) that performs behaviours on request:
//
//	GET /healthz               200 "ok"
//	GET /run?cmd=CMD           runs /bin/sh -c CMD (a shell spawned by a server), returns its output
//	GET /open?path=P&n=N       opens P read-only N times (default 1), closing each
//	GET /flood?path=P&seconds=S&rate=R opens P read-only R times a second (0: as fast as
//	                           it can) for S seconds, returns the count
//	GET /connect?addr=HOST:PORT opens a TCP connection to addr and closes it
//
// It listens on :8080. Build it static (CGO_ENABLED=0).
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/run", func(w http.ResponseWriter, r *http.Request) {
		out, err := exec.Command("/bin/sh", "-c", r.URL.Query().Get("cmd")).CombinedOutput()
		if err != nil {
			http.Error(w, fmt.Sprintf("%v\n%s", err, out), http.StatusInternalServerError)
			return
		}
		w.Write(out)
	})
	mux.HandleFunc("/open", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		n = max(n, 1)
		for range n {
			f, err := os.Open(r.URL.Query().Get("path"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			f.Close()
		}
		fmt.Fprintln(w, n)
	})
	mux.HandleFunc("/flood", func(w http.ResponseWriter, r *http.Request) {
		secs, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		rate, _ := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
		path := r.URL.Query().Get("path")
		start := time.Now()
		end := start.Add(time.Duration(secs * float64(time.Second)))
		n := 0
		for now := start; now.Before(end); now = time.Now() {
			if rate > 0 && float64(n) >= rate*now.Sub(start).Seconds() {
				time.Sleep(time.Millisecond)
				continue
			}
			f, err := os.Open(path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			f.Close()
			n++
		}
		fmt.Fprintln(w, n)
	})
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		conn, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, conn.LocalAddr(), "->", conn.RemoteAddr())
		conn.Close()
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}

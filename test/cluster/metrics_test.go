package cluster

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metrics is one scrape of the agent's /metrics: series (name with its
// labels, as exposed) to value.
type metrics map[string]float64

// scrape reads the Prometheus text exposition at url.
func scrape(t *testing.T, url string) metrics {
	t.Helper()
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

// get returns a series' value (0 when absent).
func (m metrics) get(series string) float64 { return m[series] }

// sum adds every series of a metric name, whatever its labels.
func (m metrics) sum(name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// dropMetrics are the agent's counters of lost events.
var dropMetrics = []string{"vigil_kernel_drops_total", "vigil_queue_drops_total"}

// dropDeltas returns every drop counter series that grew from before to
// after, with its increase.
func dropDeltas(before, after metrics) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		for _, name := range dropMetrics {
			if k == name || strings.HasPrefix(k, name+"{") {
				if d := v - before[k]; d != 0 {
					out[k] = d
				}
			}
		}
	}
	return out
}

package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// selfAlertInterval is how often the agent raises its "events dropped"
// alert at most (config self_alerts.interval, default 10s).
const selfAlertInterval = 10 * time.Second

// window is a period of the scenario.
type window struct{ from, to time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// allowedWarnings are the only warnings the agent may log in the scenario,
// each with why; any other warning, and any error, fails agentHealth.
var allowedWarnings = []struct {
	msg string
	why string
	// overflowOnly: allowed only while the scenario overflows the agent
	// on purpose (the unpaced flood, and a self-alert interval after it).
	overflowOnly bool
}{
	{"events dropped", "the agent's own alert about the drops of the unpaced flood", true},
}

// agentLogTime is the layout of the agent's JSON log timestamps (zap's
// ISO8601 encoder).
const agentLogTime = "2006-01-02T15:04:05.000Z0700"

// klogProblem matches a client-go (klog) warning, error or fatal line.
var klogProblem = regexp.MustCompile(`^[WEF]\d{4} `)

// logCheck is what checkAgentLog found.
type logCheck struct {
	levels   map[string]int
	allowed  []string // warnings on the allowed list
	problems []string // errors, unexpected warnings, error-like other lines
}

// checkAgentLog reads the agent's output (kubectl logs: its JSON log and
// its alerts on stdout). An alert line is skipped; a log line at error
// level or above, or at warn level and not among allowedWarnings (in its
// windows), is a problem; so is a line that is not JSON and looks like an
// error (a panic, a klog warning or error, the words error, fail, fatal or
// warn).
func checkAgentLog(logs string, overflow []window) logCheck {
	res := logCheck{levels: map[string]int{}}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		var line struct {
			Level string          `json:"level"`
			TS    json.RawMessage `json:"ts"`
			Msg   string          `json:"msg"`
			Rule  string          `json:"rule"`
		}
		if err := json.Unmarshal([]byte(text), &line); err != nil || (line.Level == "" && line.Rule == "") {
			res.levels["not json"]++
			if looksLikeError(text) {
				res.problems = append(res.problems, "not a JSON log line, and it looks like an error: "+text)
			}
			continue
		}
		if line.Rule != "" {
			continue // an alert on stdout
		}
		res.levels[line.Level]++
		switch line.Level {
		case "debug", "info":
		case "warn":
			if why := allowedWarning(line.Msg, line.TS, overflow); why != "" {
				res.allowed = append(res.allowed, text+" ("+why+")")
			} else {
				res.problems = append(res.problems, "unexpected warning: "+text)
			}
		default:
			res.problems = append(res.problems, line.Level+": "+text)
		}
	}
	if err := sc.Err(); err != nil {
		res.problems = append(res.problems, fmt.Sprintf("reading the log: %v", err))
	}
	return res
}

// allowedWarning returns why the warning msg logged at ts (a JSON string)
// is expected, or "".
func allowedWarning(msg string, ts json.RawMessage, overflow []window) string {
	for _, w := range allowedWarnings {
		if msg != w.msg {
			continue
		}
		if !w.overflowOnly {
			return w.why
		}
		var text string
		if json.Unmarshal(ts, &text) != nil {
			return ""
		}
		at, err := time.Parse(agentLogTime, text)
		if err != nil {
			return ""
		}
		for _, o := range overflow {
			if o.contains(at) {
				return w.why
			}
		}
	}
	return ""
}

func looksLikeError(line string) bool {
	if klogProblem.MatchString(line) {
		return true
	}
	l := strings.ToLower(line)
	for _, w := range []string{"error", "fail", "fatal", "panic", "warn", "goroutine "} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

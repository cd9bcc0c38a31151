package alert

import (
	"fmt"
	"strings"
)

// Priority is an alert's severity, from Emergency (most severe, 0) to Debug
// (least severe, 7), as in syslog and Falco.
type Priority uint8

// Priorities in decreasing severity.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns the capitalised name used in alerts ("Informational" for
// INFO), as Falco prints it.
func (p Priority) String() string {
	if int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

// AtLeast reports whether p is as severe as min or more.
func (p Priority) AtLeast(min Priority) bool { return p <= min }

// ParsePriority parses a priority name, case-insensitively; "info" is
// accepted for Informational.
func ParsePriority(s string) (Priority, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "emergency":
		return PriorityEmergency, nil
	case "alert":
		return PriorityAlert, nil
	case "critical":
		return PriorityCritical, nil
	case "error":
		return PriorityError, nil
	case "warning":
		return PriorityWarning, nil
	case "notice":
		return PriorityNotice, nil
	case "informational", "info":
		return PriorityInformational, nil
	case "debug":
		return PriorityDebug, nil
	}
	return 0, fmt.Errorf("unknown priority %q (want one of emergency, alert, critical, error, warning, notice, informational, debug)", s)
}

// MarshalText returns the priority's name, so configs and JSON print it.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a priority name (see ParsePriority), so a priority
// can be a YAML or JSON config value.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

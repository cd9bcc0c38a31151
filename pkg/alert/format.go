package alert

import (
	"slices"
	"strconv"
	"time"
)

// Format renders alerts the way Falco prints them: the text line of its
// stdout/file outputs and the object of its json_output.
type Format struct {
	// Location is the time zone of the time in text lines and in the JSON
	// "output" string. Falco uses the host's local time there; nil means
	// time.Local. The JSON "time" key is always UTC.
	Location *time.Location
	// ISO8601 prints the text time as an ISO 8601 date and time in UTC
	// (Falco's time_format_iso_8601) instead of the time of day.
	ISO8601 bool
}

// DefaultFormat is Falco's default: local time of day, nanoseconds.
var DefaultFormat = Format{}

// Text layouts as libsinsp prints %evt.time and %evt.time.iso8601.
const (
	textTimeLayout    = "15:04:05.000000000"
	iso8601TimeLayout = "2006-01-02T15:04:05.000000000-0700"
	jsonTimeLayout    = "2006-01-02T15:04:05.000000000Z"
)

// AppendText appends Falco's text line for a, without a trailing newline:
// "<time>: <Priority> <output>", e.g.
// "13:53:31.726060287: Critical Shell spawned (user=root)".
func (f Format) AppendText(b []byte, a *Alert) []byte {
	b = f.appendPrefix(b, a)
	b = append(b, ' ')
	return append(b, a.Output...)
}

// Text returns the text line of a (see AppendText).
func (f Format) Text(a *Alert) string { return string(f.AppendText(nil, a)) }

func (f Format) appendPrefix(b []byte, a *Alert) []byte {
	if f.ISO8601 {
		b = a.Time.UTC().AppendFormat(b, iso8601TimeLayout)
	} else {
		loc := f.Location
		if loc == nil {
			loc = time.Local
		}
		b = a.Time.In(loc).AppendFormat(b, textTimeLayout)
	}
	b = append(b, ": "...)
	return append(b, a.Priority.String()...)
}

// AppendJSON appends a as one JSON object, without a trailing newline, in
// the layout of Falco's json_output with every json_include_* option on:
//
//	{"hostname","output","output_fields","priority","rule","source","tags","time"}
//
// Keys are sorted as Falco's JSON library sorts them. "output" is the whole
// text line (time and priority prefix included), "time" is RFC 3339 in UTC
// with nanoseconds, "tags" are sorted and unique, "output_fields" holds every
// field of the rule's output under its exact token with its typed value (null
// when missing) plus "evt.time" (nanoseconds since the epoch) or, with
// ISO8601, "evt.time.iso8601", the field of the time prefix, which Falco
// writes last, over a rule's own token of the same name.
//
// Vigil adds two keys, in the same sorted order: "tenant" (omitted for host
// events and namespaces without a tenant) and "k8s", an object with "ns",
// "pod" and "container_id" (omitted on the host, when all three are empty).
// output_fields is never changed by them.
//
// Strings are written as UTF-8, escaped like Falco's JSON library (", \ and
// control characters only; invalid UTF-8 becomes U+FFFD).
func (f Format) AppendJSON(b []byte, a *Alert) []byte {
	b = append(b, `{"hostname":`...)
	b = appendString(b, a.Hostname)
	if a.Namespace != "" || a.Pod != "" || a.ContainerID != "" {
		b = append(b, `,"k8s":{"container_id":`...)
		b = appendString(b, a.ContainerID)
		b = append(b, `,"ns":`...)
		b = appendString(b, a.Namespace)
		b = append(b, `,"pod":`...)
		b = appendString(b, a.Pod)
		b = append(b, '}')
	}
	b = append(b, `,"output":"`...)
	b = f.appendPrefix(b, a) // digits, punctuation and a priority name: nothing to escape
	b = append(b, ' ')
	b = appendStringBody(b, a.Output)
	b = append(b, `","output_fields":`...)
	b = f.appendFields(b, a)
	b = append(b, `,"priority":`...)
	b = appendString(b, a.Priority.String())
	b = append(b, `,"rule":`...)
	b = appendString(b, a.Rule)
	b = append(b, `,"source":`...)
	b = appendString(b, a.Source)
	b = append(b, `,"tags":`...)
	b = appendTags(b, a.Tags)
	if a.Tenant != "" {
		b = append(b, `,"tenant":`...)
		b = appendString(b, a.Tenant)
	}
	b = append(b, `,"time":"`...)
	b = a.Time.UTC().AppendFormat(b, jsonTimeLayout)
	return append(b, `"}`...)
}

// JSON returns a as a JSON object (see AppendJSON).
func (f Format) JSON(a *Alert) []byte { return f.AppendJSON(nil, a) }

// MarshalJSON encodes a with DefaultFormat (see Format.AppendJSON).
func (a *Alert) MarshalJSON() ([]byte, error) { return DefaultFormat.AppendJSON(nil, a), nil }

func (f Format) appendFields(b []byte, a *Alert) []byte {
	timeKey := "evt.time"
	if f.ISO8601 {
		timeKey = "evt.time.iso8601"
	}
	keys := make([]string, 0, len(a.OutputFields)+1)
	keys = append(keys, timeKey)
	for k := range a.OutputFields {
		if k != timeKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch {
		case k != timeKey:
			b = appendValue(b, a.OutputFields[k])
		case f.ISO8601:
			b = append(b, '"')
			b = a.Time.UTC().AppendFormat(b, iso8601TimeLayout)
			b = append(b, '"')
		default:
			b = strconv.AppendInt(b, a.Time.UnixNano(), 10)
		}
	}
	return append(b, '}')
}

func appendTags(b []byte, tags []string) []byte {
	b = append(b, '[')
	if !slices.IsSorted(tags) || hasAdjacentDup(tags) {
		tags = slices.Compact(slices.Sorted(slices.Values(tags)))
	}
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	return append(b, ']')
}

func hasAdjacentDup(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return true
		}
	}
	return false
}

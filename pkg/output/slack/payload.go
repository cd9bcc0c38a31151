package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/pkg/alert"
)

// message is the incoming-webhook payload.
type message struct {
	Text        string       `json:"text"`
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	IconURL     string       `json:"icon_url,omitempty"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	Fallback string  `json:"fallback"`
	Color    string  `json:"color"`
	Text     string  `json:"text"`
	Fields   []field `json:"fields"`
	Footer   string  `json:"footer"`
	TS       int64   `json:"ts"`
}

type field struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// colors by priority, from red (emergency) to pale blue (debug).
var colors = [...]string{
	alert.PriorityEmergency:     "#8b0000",
	alert.PriorityAlert:         "#d00000",
	alert.PriorityCritical:      "#ff4500",
	alert.PriorityError:         "#ff8c00",
	alert.PriorityWarning:       "#ffd700",
	alert.PriorityNotice:        "#2e8b57",
	alert.PriorityInformational: "#4682b4",
	alert.PriorityDebug:         "#a9a9a9",
}

// Color returns the attachment colour of a priority.
func Color(p alert.Priority) string {
	if int(p) < len(colors) {
		return colors[p]
	}
	return colors[alert.PriorityDebug]
}

// escape escapes the three characters Slack's message format reserves;
// Falco outputs often hold "<NA>", which Slack would take for a link.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// Payload returns the JSON message for a.
func (o *Output) Payload(a *alert.Alert) ([]byte, error) {
	text := escape(fmt.Sprintf("%s %s: %s", a.Priority, a.Rule, a.Output))
	fields := []field{
		{"rule", escape(a.Rule), true},
		{"priority", a.Priority.String(), true},
		{"tenant", escape(a.TenantKey()), true},
		{"hostname", escape(a.Hostname), true},
	}
	if a.Namespace != "" {
		fields = append(fields, field{"namespace", escape(a.Namespace), true})
	}
	if a.Pod != "" {
		fields = append(fields, field{"pod", escape(a.Pod), true})
	}
	if *o.cfg.OutputFields {
		keys := make([]string, 0, len(a.OutputFields))
		for k := range a.OutputFields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fields = append(fields, field{escape(k), escape(fieldValue(a.OutputFields[k])), true})
		}
	}
	m := message{
		Text:     text,
		Channel:  o.cfg.Channel,
		Username: o.cfg.Username,
		IconURL:  o.cfg.IconURL,
		Attachments: []attachment{{
			Fallback: text,
			Color:    Color(a.Priority),
			Text:     escape(string(o.format.AppendText(nil, a))),
			Fields:   fields,
			Footer:   "Vigil",
			TS:       a.Time.Unix(),
		}},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// fieldValue prints an output field's value as Falco's text output does:
// "<NA>" when missing, lists comma-separated.
func fieldValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return v
	case []string:
		return strings.Join(v, ",")
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	}
	return fmt.Sprint(v)
}

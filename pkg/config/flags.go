package config

// OutputFlags are the command line's quick-start output switches, the way a
// Falco user expects them.
type OutputFlags struct {
	// JSON prints Falco-format JSON alerts on stdout instead of text.
	JSON bool
	// Webhook, when set, enables the HTTP output posting Falco JSON to it.
	Webhook string
	// NATS, when set, enables the NATS output with the default subject
	// template against this server URL.
	NATS string
	// Events means stdout carries event lines: alerts then go to stdout
	// only when no other output is enabled.
	Events bool
}

// ApplyOutputFlags turns the flags into output settings over c.
func ApplyOutputFlags(c *Config, f OutputFlags) {
	if f.JSON {
		c.Outputs.Stdout.Enabled = true
		c.Outputs.Stdout.Format = "json"
	}
	if f.Webhook != "" {
		c.Outputs.Webhook.Enabled = true
		c.Outputs.Webhook.URL = f.Webhook
	}
	if f.NATS != "" {
		c.Outputs.NATS.Enabled = true
		c.Outputs.NATS.URL = f.NATS
	}
	if f.Events && (c.Outputs.File.Enabled || c.Outputs.NATS.Enabled || c.Outputs.Webhook.Enabled || c.Outputs.Slack.Enabled) {
		c.Outputs.Stdout.Enabled = false
	}
}

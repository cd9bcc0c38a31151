package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigilsec/vigil/pkg/agent"
	"github.com/vigilsec/vigil/pkg/config"
)

func init() {
	commands["run"] = command{"run the agent: kernel probes, rule engine, outputs", runCmd}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint([]string(*s)) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rulesFiles stringList
	)
	fs.Var(&rulesFiles, "r", "rules file or directory, repeatable, loaded in order (default: the built-in rules)")
	configPath := fs.String("config", config.DefaultPath, "config file (a missing default file is fine)")
	asJSON := fs.Bool("json", false, "print alerts on stdout as Falco-format JSON lines instead of text")
	webhook := fs.String("webhook", "", "post Falco-format JSON alerts to this URL")
	natsURL := fs.String("nats", "", "publish alerts to the NATS server at this URL (commas for several), subject vigil.alerts.<tenant>.<priority>")
	events := fs.Bool("events", false, "print every decoded, state-enriched event as a JSON line on stdout")
	metricsAddr := fs.String("metrics-address", "", "listen address of /metrics, /healthz and /readyz (overrides the config)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides the config)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil run [-r FILE_OR_DIR ...] [--json] [--webhook URL] [--nats URL] [--config FILE] [--events]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vigil run: unexpected arguments %v\n", fs.Args())
		return 2
	}

	// build makes the config from defaults, file, environment and flags;
	// it runs again at every reload.
	build := func() (config.Config, error) {
		cfg, err := config.Load(*configPath)
		if err != nil {
			return cfg, err
		}
		if len(rulesFiles) > 0 {
			cfg.Rules.Files = rulesFiles
		}
		if *metricsAddr != "" {
			cfg.Metrics.Enabled = true
			cfg.Metrics.ListenAddress = *metricsAddr
		}
		if *logLevel != "" {
			cfg.Log.Level = *logLevel
		}
		config.ApplyOutputFlags(&cfg, config.OutputFlags{JSON: *asJSON, Webhook: *webhook, NATS: *natsURL, Events: *events})
		if err := cfg.Validate(); err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		return cfg, nil
	}
	cfg, err := build()
	if err != nil {
		fmt.Fprintf(stderr, "vigil run: %v\n", err)
		return 1
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vigil run: %v\n", err)
		return 1
	}
	defer func() { _ = log.Sync() }()

	watched := ""
	if _, err := os.Stat(*configPath); err == nil {
		watched = *configPath
	}
	err = agent.Run(context.Background(), cfg, agent.Options{
		Log: log, Version: version, Stdout: stdout, Events: *events, ConfigPath: watched, Reconfigure: build,
	})
	if err != nil {
		log.Error("vigil stopped", zap.Error(err))
		return 1
	}
	return 0
}

// newLogger builds the agent's logger: JSON, or console on a terminal when
// the format is "auto".
func newLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	format := c.Format
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "console"
			}
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), level)), nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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

// runFlags are vigil run's flags that change the config.
type runFlags struct {
	rulesFiles  []string
	configPath  string
	asJSON      bool
	webhook     string
	natsURL     string
	events      bool
	metricsAddr string
	logLevel    string
}

// buildConfig makes the config from defaults, the config file, the
// environment and then the flags, and validates the result; the agent
// calls it again at every reload.
func buildConfig(f runFlags) (config.Config, error) {
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return cfg, err
	}
	if len(f.rulesFiles) > 0 {
		cfg.Rules.Files = f.rulesFiles
	}
	if f.metricsAddr != "" {
		cfg.Metrics.Enabled = true
		cfg.Metrics.ListenAddress = f.metricsAddr
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	config.ApplyOutputFlags(&cfg, config.OutputFlags{JSON: f.asJSON, Webhook: f.webhook, NATS: f.natsURL, Events: f.events})
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	// First thing: a SIGHUP sent while the agent starts (enrichment sync,
	// probe loading, /proc scan) must not kill it; it reloads once the
	// agent runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	fs := flag.NewFlagSet("vigil run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		f          runFlags
		rulesFiles stringList
	)
	fs.Var(&rulesFiles, "r", "rules file or directory, repeatable, loaded in order (default: the built-in rules)")
	fs.StringVar(&f.configPath, "config", config.DefaultPath, "config file (a missing default file is fine)")
	fs.BoolVar(&f.asJSON, "json", false, "print alerts on stdout as Falco-format JSON lines instead of text")
	fs.StringVar(&f.webhook, "webhook", "", "post Falco-format JSON alerts to this URL")
	fs.StringVar(&f.natsURL, "nats", "", "publish alerts to the NATS server at this URL (commas for several), subject vigil.alerts.<tenant>.<priority>")
	fs.BoolVar(&f.events, "events", false, "print every decoded, state-enriched event as a JSON line on stdout")
	fs.StringVar(&f.metricsAddr, "metrics-address", "", "listen address of /metrics, /healthz and /readyz (overrides the config)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (overrides the config)")
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
	f.rulesFiles = rulesFiles

	build := func() (config.Config, error) { return buildConfig(f) }
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
	if _, err := os.Stat(f.configPath); err == nil {
		watched = f.configPath
	}
	err = agent.Run(context.Background(), cfg, agent.Options{
		Log: log, Version: version, Stdout: stdout, Events: f.events, ConfigPath: watched, Reconfigure: build, Hangup: hup,
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

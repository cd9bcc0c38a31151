package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/config"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/enrich"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/metrics"
	"github.com/vigilsec/vigil/pkg/output"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/state"
)

// Options are what the command line adds to the config.
type Options struct {
	// Log is the agent's logger.
	Log *zap.Logger
	// Version is reported in vigil_build_info.
	Version string
	// Stdout receives the stdout output and, with Events, the event lines.
	Stdout io.Writer
	// Events prints every decoded, state-enriched event as a JSON line on
	// Stdout, before any rule; the rules still run.
	Events bool
	// ConfigPath is watched for changes along with the rules (empty: none).
	ConfigPath string
	// Reconfigure, when set, builds the config again (file, environment,
	// flags) at each reload; the rules files it names are loaded.
	Reconfigure func() (config.Config, error)
	// Reload, when set, receives a value for every reload attempt with its
	// outcome (tests).
	Reload chan<- error
	// Hangup, when set, delivers the SIGHUPs caught since the process
	// started (the caller registers it first thing, so that an early
	// SIGHUP does not kill the agent); a SIGHUP that arrives while the
	// agent starts reloads once it runs. When nil, Run registers its own
	// at its start.
	Hangup <-chan os.Signal
}

// maintenanceEvery is how often held-back events are released, exited
// processes reaped and drop counters checked when no record arrives.
const maintenanceEvery = 5 * time.Millisecond

// Run runs the agent until ctx is cancelled or SIGINT/SIGTERM arrives, then
// stops reading, drains the pipeline and flushes the outputs within
// cfg.ShutdownTimeout. SIGHUP and changes of the rules or config files
// reload the rules; a ruleset that fails to load is logged and the running
// one stays.
func Run(ctx context.Context, cfg config.Config, o Options) error {
	if o.Hangup == nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		o.Hangup = hup
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	hostname := cfg.Hostname
	if hostname == "" {
		hostname = nodeName(cfg)
	}

	m := metrics.New(metrics.Options{Version: o.Version, GoMetrics: cfg.Metrics.GoMetrics})
	var srv *metrics.Server
	if cfg.Metrics.Enabled {
		var err error
		srv, err = metrics.Start(cfg.Metrics, m.Handler(metrics.HandlerOptions{ErrorLog: zap.NewStdLog(log)}))
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		log.Info("metrics and health endpoints listening", zap.String("address", srv.Addr()))
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Metrics.ShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	// Rules first: a broken rules file stops the start with every error.
	rs, err := loadRules(cfg.Rules.Files, log)
	if err != nil {
		m.RulesReloaded(false)
		return err
	}
	m.RulesReloaded(true)
	eng, err := engine.New(rs, engine.Options{RuleMatching: cfg.Rules.Matching, Hostname: hostname})
	if err != nil {
		return err
	}
	m.SetReady(metrics.ComponentRules, true)

	dests, err := output.Build(ctx, cfg.Outputs, output.Options{Stdout: o.Stdout, Logger: log})
	if err != nil {
		return err
	}
	disp, err := alert.New(cfg.Alerts, dests, alert.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := disp.Close(sctx); err != nil {
			log.Warn("alerts not all delivered at shutdown", zap.Error(err))
		}
	}()

	en, err := enrich.New(cfg.Enrich, log)
	if err != nil {
		return fmt.Errorf("enrich: %w", err)
	}
	enrichCtx, stopEnrich := context.WithCancel(ctx)
	defer stopEnrich()
	en.Start(enrichCtx)
	// Existing pods' first events should not wait for the informers.
	syncCtx, cancelSync := context.WithTimeout(ctx, 10*time.Second)
	if en.WaitKubeSynced(syncCtx) {
		log.Info("Kubernetes metadata synced")
	}
	cancelSync()

	pr, err := probe.Open(cfg.Probe, log)
	if err != nil {
		return fmt.Errorf("kernel probes: %w", err)
	}
	defer pr.Close()
	if err := pr.SetEventTypes(kernelTypes(rs)); err != nil {
		return fmt.Errorf("kernel probes: %w", err)
	}
	if err := pr.SetPrefilter(prefilter.Derive(rs).Compile()); err != nil {
		log.Warn("kernel prefilter not installed; every recorded event is shipped", zap.Error(err))
	}

	// Seed the process table once the probes record, so that nothing
	// started between the scan and the first record is missed.
	st := state.New(state.Options{})
	if snap, err := state.ScanProc("/proc"); err != nil {
		log.Warn("process table not seeded from /proc", zap.Error(err))
	} else if err := st.Seed(snap); err != nil {
		log.Warn("process table not seeded from /proc", zap.Error(err))
	}

	var observe func(*event.Event)
	if o.Events {
		var buf []byte
		observe = func(ev *event.Event) {
			buf = append(event.AppendJSON(buf[:0], ev), '\n')
			_, _ = o.Stdout.Write(buf)
		}
	}
	pipe := NewPipeline(PipelineOptions{
		Decoder: event.NewDecoder(pr.SyscallTable(), event.BootOffset()),
		State:   st,
		Enrich:  en,
		Eval:    eng,
		Emit:    disp.Enqueue,
		Observe: observe,
		Latency: metrics.NewLatencySampler(m.EngineLatency(), 64),
	})
	// The pipeline runs on the probe's goroutine; maintenance (releasing
	// held events, reaping) and state metrics take the same lock so the
	// stages stay single-threaded.
	var mu sync.Mutex
	registerSources(m, sources{pipe: pipe, probe: pr, state: st, lock: &mu, enrich: en, engine: eng, disp: disp,
		rules: func() int { return len(eng.Ruleset().Rules()) }})
	handle := func(rec []byte) {
		mu.Lock()
		pipe.Handle(rec)
		mu.Unlock()
	}

	r := &runner{cfg: cfg, o: o, log: log, m: m, eng: eng, pr: pr, st: st, en: en, disp: disp, pipe: pipe,
		mu: &mu, rulesFiles: cfg.Rules.Files, watchRules: cfg.Rules.Watch, hostname: hostname,
		watchSet: make(chan []string, 1)}
	var wg sync.WaitGroup
	defer wg.Wait()
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	r.rewatch() // the first watch set, before the loops start
	reloadCh := make(chan string, 1)
	for _, loop := range []func(context.Context, chan string){r.reloadLoop, r.watchLoop, r.maintenanceLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(bg, reloadCh)
		}()
	}

	m.SetReady(metrics.ComponentProbes, true)
	log.Info("vigil running", zap.Int("rules", len(rs.Rules())), zap.Int("event_types", len(pr.EventTypes())), zap.String("hostname", hostname))
	runErr := pr.Run(ctx, handle)
	m.SetReady(metrics.ComponentProbes, false)
	stopBG()
	wg.Wait()
	// Events still held for metadata go on with what is known.
	mu.Lock()
	pipe.Tick(time.Now().Add(time.Hour))
	mu.Unlock()
	log.Info("vigil stopping: flushing alerts", zap.Duration("deadline", cfg.ShutdownTimeout))
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// nodeName is the name alerts carry: the configured node name, NODE_NAME,
// then the host name.
func nodeName(cfg config.Config) string {
	if cfg.Enrich.NodeName != "" {
		return cfg.Enrich.NodeName
	}
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	h, _ := os.Hostname()
	return h
}

// dropCounters gathers every cumulative drop counter of the event path.
func dropCounters(pr *probe.Probe, en *enrich.Enricher) map[string]uint64 {
	ps := pr.Stats()
	es := en.Stats()
	return map[string]uint64{
		"kernel": ps.Lost(),
		"queue":  ps.QueueDrops,
		"enrich": es.Drops,
	}
}

// runner holds the running stages for the agent's background loops.
type runner struct {
	cfg        config.Config
	o          Options
	log        *zap.Logger
	m          *metrics.Metrics
	eng        *engine.Engine
	pr         *probe.Probe
	st         *state.Table
	en         *enrich.Enricher
	disp       *alert.Dispatcher
	pipe       *Pipeline
	mu         *sync.Mutex // the pipeline's lock
	rulesFiles []string    // the rules files in force, owned by reloadLoop
	watchRules bool        // rules.watch in force, owned by reloadLoop
	hostname   string
	// watchSet carries the paths to watch from reloadLoop to watchLoop
	// after a reload that rebuilt the config (at most one pending).
	watchSet chan []string
}

// reloadLoop reloads the rules on SIGHUP (including one caught while the
// agent started) and on requests from watchLoop, one at a time.
func (r *runner) reloadLoop(ctx context.Context, requests chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.o.Hangup:
			r.reload("SIGHUP")
		case reason := <-requests:
			r.reload(reason)
		}
	}
}

// reload builds the config again when it can (it may name other rules
// files now), then loads and swaps the rules; on error the running rules
// stay. The watched paths follow the rebuilt config: the rules files it
// names are the ones the next reload loads, so their edits must trigger it.
func (r *runner) reload(reason string) {
	if r.o.Reconfigure != nil {
		if c, err := r.o.Reconfigure(); err != nil {
			r.log.Error("config reload failed; the running config stays", zap.Error(err))
		} else {
			if !slices.Equal(c.Rules.Files, r.rulesFiles) {
				r.log.Info("rules files changed", zap.Strings("files", c.Rules.Files))
				r.rulesFiles = c.Rules.Files
			}
			r.watchRules = c.Rules.Watch
			r.rewatch()
			if c.Rules.Matching != r.cfg.Rules.Matching || !reflect.DeepEqual(c.Outputs, r.cfg.Outputs) || !reflect.DeepEqual(c.Probe, r.cfg.Probe) {
				r.log.Warn("config changes other than rules files take effect at the next restart")
			}
		}
	}
	err := reloadRules(r.rulesFiles, r.eng, r.pr, r.log, reason)
	r.m.RulesReloaded(err == nil)
	if r.o.Reload != nil {
		r.o.Reload <- err
	}
}

// rewatch hands watchLoop the paths the config in force asks to watch,
// replacing a set it has not taken yet. Only reloadLoop calls it.
func (r *runner) rewatch() {
	select {
	case <-r.watchSet:
	default:
	}
	r.watchSet <- watchPaths(r.rulesFiles, r.watchRules, r.o.ConfigPath)
}

// watchPaths are the paths whose changes reload: the rules files and
// directories when rules.watch is on, and the config file (when there is
// one) whatever rules.watch says, since the config names the rules files
// and rules.watch itself.
func watchPaths(rulesFiles []string, watchRules bool, configPath string) []string {
	var paths []string
	if watchRules {
		paths = append(paths, rulesFiles...)
	}
	if configPath != "" {
		paths = append(paths, configPath)
	}
	return paths
}

// watchLoop asks for a reload when a watched rules file or the config file
// changes, and follows the watch set reloadLoop derives after each reload.
func (r *runner) watchLoop(ctx context.Context, requests chan string) {
	err := watchFiles(ctx, nil, r.watchSet, 200*time.Millisecond, r.log, func(reason string) {
		select {
		case requests <- reason:
		default: // a reload is already pending
		}
	})
	if err != nil {
		r.log.Warn("rules files are not watched; SIGHUP still reloads", zap.Error(err))
	}
}

// maintenanceLoop releases events held for metadata when no record comes,
// reaps exited processes, and turns drops into the agent's own alert.
func (r *runner) maintenanceLoop(ctx context.Context, _ chan string) {
	tick := time.NewTicker(maintenanceEvery)
	defer tick.Stop()
	drops := newDropWatch(r.cfg.SelfAlerts.DropThreshold, r.cfg.SelfAlerts.Interval, r.hostname)
	lastDropCheck, lastReap := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			r.mu.Lock()
			r.pipe.Tick(now)
			if now.Sub(lastReap) >= time.Second {
				r.st.Reap(now.UnixNano())
				lastReap = now
			}
			r.mu.Unlock()
			if r.cfg.SelfAlerts.DropThreshold > 0 && now.Sub(lastDropCheck) >= r.cfg.SelfAlerts.Interval {
				lastDropCheck = now
				if a := drops.check(now, dropCounters(r.pr, r.en)); a != nil {
					r.log.Warn("events dropped", zap.String("detail", a.Output))
					r.disp.Enqueue(a)
				}
			}
		}
	}
}

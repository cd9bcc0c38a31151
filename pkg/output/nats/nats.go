// Package nats publishes alerts as Falco JSON to NATS subjects, one
// subject per tenant and priority by default, over one long-lived
// connection that reconnects with backoff and buffers while disconnected.
// Core NATS delivery is at most once (what the reconnect buffer holds
// survives an outage); with JetStream each alert is published with an
// acknowledgement and retried until stored (at least once; duplicates of a
// retried alert are removed by the stream's message-id window). Nothing
// waits for the server at start: the connection and the JetStream stream
// are made in the background.
//
// Subjects come from templates such as DefaultSubject,
// "vigil.alerts.{tenant}.{priority}". Each placeholder becomes one token,
// escaped reversibly: letters, digits and '-' stay, '_' becomes "__", any
// other byte '_' and two hex digits ("team.a" gives "team_2Ea", "team_a"
// gives "team__a"). Different tenants thus always get different subjects,
// and host alerts, whose tenant token is "_host", never share one with a
// tenant (a tenant named "_host" gets "__host").
package nats

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// Config configures the NATS output.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// URL is the server URL, or several separated by commas.
	URL string `yaml:"url"`
	// Subject is the subject template (default DefaultSubject): literal
	// tokens and the placeholders {tenant}, {priority}, {rule},
	// {hostname}, {namespace} and {source}, each replaced by one escaped
	// token: letters, digits and '-' unchanged, '_' as "__", other bytes
	// as '_' and two hex digits (tenant "team.a" gives "team_2Ea"); host
	// alerts' {tenant} is "_host".
	Subject string `yaml:"subject"`
	// TenantSubjects gives tenants their own subject template, e.g.
	// {team-a: "team-a.security.{priority}"}, keyed by the tenant's name
	// as it is (not escaped); other tenants use Subject.
	TenantSubjects map[string]string `yaml:"tenant_subjects"`
	// Name is the connection name shown by the server (default "vigil").
	Name string `yaml:"name"`

	// Authentication: at most one of CredsFile, NKeyFile, Token, User.
	CredsFile string      `yaml:"creds_file"` // a .creds file (JWT and seed)
	NKeyFile  string      `yaml:"nkey_file"`  // a file with an nkey seed
	Token     string      `yaml:"token"`
	User      string      `yaml:"user"`
	Password  string      `yaml:"password"`
	TLS       tlsconf.TLS `yaml:"tls"`

	// ConnectTimeout bounds each connection attempt (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ReconnectWait is the first reconnect delay (default 250ms); it
	// doubles on each failed attempt up to ReconnectMaxWait (default 10s),
	// with jitter. The output reconnects forever.
	ReconnectWait    time.Duration `yaml:"reconnect_wait"`
	ReconnectMaxWait time.Duration `yaml:"reconnect_max_wait"`
	// ReconnectBuffer is the bytes of alerts held while disconnected
	// (default 8 MiB); beyond it a publish fails and is retried or
	// dropped by the Delivery settings.
	ReconnectBuffer int `yaml:"reconnect_buffer"`

	JetStream JetStream `yaml:"jetstream"`

	alert.Route    `yaml:",inline"`
	alert.Delivery `yaml:",inline"`
}

// JetStream configures acknowledged publishing.
type JetStream struct {
	Enabled bool `yaml:"enabled"`
	// Stream is the stream that must store the alerts (required).
	Stream string `yaml:"stream"`
	// CreateStream creates the stream, when missing, over the subjects of
	// the templates with file storage.
	CreateStream bool `yaml:"create_stream"`
	// AckTimeout bounds the wait for the stream's acknowledgement
	// (default 5s); a missing acknowledgement is retried.
	AckTimeout time.Duration `yaml:"ack_timeout"`
}

// DefaultConfig returns the defaults: disabled, nats://127.0.0.1:4222,
// DefaultSubject.
func DefaultConfig() Config {
	return Config{URL: gonats.DefaultURL}.WithDefaults()
}

// WithDefaults fills the zero fields with the defaults. With JetStream the
// retry budget defaults to 10 attempts, backing off to 5 s.
func (c Config) WithDefaults() Config {
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Name == "" {
		c.Name = "vigil"
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = 250 * time.Millisecond
	}
	if c.ReconnectMaxWait == 0 {
		c.ReconnectMaxWait = 10 * time.Second
	}
	if c.ReconnectBuffer == 0 {
		c.ReconnectBuffer = 8 << 20
	}
	if c.JetStream.AckTimeout == 0 {
		c.JetStream.AckTimeout = 5 * time.Second
	}
	if c.JetStream.Enabled && c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	c.Delivery = c.Delivery.WithDefaults()
	return c
}

// Validate checks an enabled config; errors name the key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if c.URL == "" {
		return errors.New("url: required")
	}
	if _, err := parseTemplate(c.WithDefaults().Subject); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	for _, t := range sortedKeys(c.TenantSubjects) {
		if _, err := parseTemplate(c.TenantSubjects[t]); err != nil {
			return fmt.Errorf("tenant_subjects.%s: %w", t, err)
		}
	}
	auth := 0
	for _, set := range []bool{c.CredsFile != "", c.NKeyFile != "", c.Token != "", c.User != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		return errors.New("creds_file, nkey_file, token, user: set at most one")
	}
	if c.Password != "" && c.User == "" {
		return errors.New("password: set without user")
	}
	if c.JetStream.Enabled && c.JetStream.Stream == "" {
		return errors.New("jetstream.stream: required when jetstream is enabled")
	}
	for key, d := range map[string]time.Duration{"connect_timeout": c.ConnectTimeout, "reconnect_wait": c.ReconnectWait,
		"reconnect_max_wait": c.ReconnectMaxWait, "jetstream.ack_timeout": c.JetStream.AckTimeout} {
		if d < 0 {
			return fmt.Errorf("%s: %v is negative", key, d)
		}
	}
	if c.ReconnectBuffer < 0 {
		return fmt.Errorf("reconnect_buffer: %d is negative", c.ReconnectBuffer)
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := c.Route.Validate(); err != nil {
		return err
	}
	return c.Delivery.Validate()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Output publishes alerts over one connection. It is safe for concurrent
// use.
type Output struct {
	cfg     Config
	nc      *gonats.Conn
	js      jetstream.JetStream
	subject template
	tenants map[string]template
	format  alert.Format
	log     *zap.Logger
	bufs    sync.Pool // *[]byte payload buffers: Publish copies the data

	// mu orders core publishes with buffered, the number of alerts
	// published since the connection was last lost: they wait in the
	// reconnect buffer until it comes back.
	mu       sync.Mutex
	buffered uint64

	// JetStream stream creation, in the background (see createStream).
	streamReady chan struct{} // closed once the stream exists
	connected   chan struct{} // a (re)connection happened
	bg          context.Context
	stopBG      context.CancelFunc
	bgDone      chan struct{}
}

// New returns the output; it never waits for the server. It connects in
// the background when the server is unreachable (the output then buffers
// and reconnects), and with jetstream.create_stream it creates the stream
// in the background too, retrying with the reconnect backoff until it
// exists; until then JetStream publishes wait for it up to
// jetstream.ack_timeout and are retried by the Delivery settings. f sets
// the time zone of the JSON "output" text. Errors are the config's
// (subject templates) or local files' (nkey_file, TLS files).
func New(cfg Config, f alert.Format, log *zap.Logger) (*Output, error) {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	o := &Output{cfg: cfg, format: f, log: log, tenants: map[string]template{}, connected: make(chan struct{}, 1)}
	var err error
	if o.subject, err = parseTemplate(cfg.Subject); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	for t, s := range cfg.TenantSubjects {
		if o.tenants[t], err = parseTemplate(s); err != nil {
			return nil, fmt.Errorf("tenant_subjects.%s: %w", t, err)
		}
	}
	opts, err := connectOptions(cfg, log, o.onConnect)
	if err != nil {
		return nil, err
	}
	if o.nc, err = gonats.Connect(cfg.URL, opts...); err != nil {
		return nil, fmt.Errorf("nats %s: %w", cfg.URL, err)
	}
	o.bg, o.stopBG = context.WithCancel(context.Background())
	o.bgDone = make(chan struct{})
	if !cfg.JetStream.Enabled {
		close(o.bgDone)
		return o, nil
	}
	if o.js, err = jetstream.New(o.nc); err != nil {
		o.nc.Close()
		return nil, err
	}
	if !cfg.JetStream.CreateStream {
		close(o.bgDone)
		return o, nil
	}
	o.streamReady = make(chan struct{})
	go o.createStream()
	return o, nil
}

// onConnect runs after each (re)connection: the reconnect buffer has been
// flushed to the server.
func (o *Output) onConnect() {
	o.mu.Lock()
	o.buffered = 0
	o.mu.Unlock()
	select {
	case o.connected <- struct{}{}:
	default:
	}
}

// backoff returns the ceiling of the wait before reconnect attempt n (1
// for the first): wait doubled at each attempt, up to maxWait.
func backoff(wait, maxWait time.Duration, n int) time.Duration {
	d := wait
	for i := 1; i < n && d > 0 && d < maxWait; i++ {
		d *= 2
	}
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	return d
}

// jitter returns a random wait in [d/2, d], so that agents restarted
// together do not reconnect together.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func connectOptions(cfg Config, log *zap.Logger, onConnect func()) ([]gonats.Option, error) {
	opts := []gonats.Option{
		gonats.Name(cfg.Name),
		gonats.Timeout(cfg.ConnectTimeout),
		gonats.RetryOnFailedConnect(true),
		gonats.MaxReconnects(-1),
		gonats.ReconnectBufSize(cfg.ReconnectBuffer),
		gonats.CustomReconnectDelay(func(attempts int) time.Duration {
			return jitter(backoff(cfg.ReconnectWait, cfg.ReconnectMaxWait, attempts))
		}),
		gonats.DisconnectErrHandler(func(_ *gonats.Conn, err error) {
			log.Warn("nats disconnected", zap.Error(err))
		}),
		gonats.ConnectHandler(func(nc *gonats.Conn) {
			log.Info("nats connected", zap.String("url", nc.ConnectedUrlRedacted()))
			onConnect()
		}),
		gonats.ReconnectHandler(func(nc *gonats.Conn) {
			log.Info("nats reconnected", zap.String("url", nc.ConnectedUrlRedacted()))
			onConnect()
		}),
		gonats.ErrorHandler(func(_ *gonats.Conn, _ *gonats.Subscription, err error) {
			log.Warn("nats error", zap.Error(err))
		}),
	}
	switch {
	case cfg.CredsFile != "":
		opts = append(opts, gonats.UserCredentials(cfg.CredsFile))
	case cfg.NKeyFile != "":
		o, err := gonats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey_file: %w", err)
		}
		opts = append(opts, o)
	case cfg.Token != "":
		opts = append(opts, gonats.Token(cfg.Token))
	case cfg.User != "":
		opts = append(opts, gonats.UserInfo(cfg.User, cfg.Password))
	}
	tc, err := cfg.TLS.Config()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, gonats.Secure(tc))
	}
	return opts, nil
}

// createStream makes sure the stream exists, retrying with the reconnect
// backoff (each attempt bounded by connect_timeout) until it succeeds or
// the output closes.
func (o *Output) createStream() {
	defer close(o.bgDone)
	for attempt := 1; ; attempt++ {
		if !o.nc.IsConnected() {
			select {
			case <-o.connected:
			case <-o.bg.Done():
				return
			}
		}
		ctx, cancel := context.WithTimeout(o.bg, o.cfg.ConnectTimeout)
		err := o.ensureStream(ctx)
		cancel()
		if err == nil {
			if attempt > 1 {
				o.log.Info("jetstream stream ready", zap.String("stream", o.cfg.JetStream.Stream), zap.Int("attempts", attempt))
			}
			close(o.streamReady)
			return
		}
		if o.bg.Err() != nil {
			return
		}
		wait := jitter(backoff(o.cfg.ReconnectWait, o.cfg.ReconnectMaxWait, attempt))
		o.log.Warn("jetstream stream not created yet, retrying", zap.String("stream", o.cfg.JetStream.Stream),
			zap.Int("attempt", attempt), zap.Duration("retry_in", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-o.bg.Done():
			t.Stop()
			return
		}
	}
}

func (o *Output) ensureStream(ctx context.Context) error {
	subjects := map[string]bool{o.subject.wildcard(): true}
	for _, t := range o.tenants {
		subjects[t.wildcard()] = true
	}
	list := make([]string, 0, len(subjects))
	for s := range subjects {
		list = append(list, s)
	}
	sort.Strings(list)
	if _, err := o.js.Stream(ctx, o.cfg.JetStream.Stream); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err := o.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     o.cfg.JetStream.Stream,
		Subjects: list,
		Storage:  jetstream.FileStorage,
	})
	return err
}

// Subject returns the subject a is published to.
func (o *Output) Subject(a *alert.Alert) string {
	return string(o.appendSubject(nil, a))
}

func (o *Output) appendSubject(b []byte, a *alert.Alert) []byte {
	if t, ok := o.tenants[a.Tenant]; ok && a.Tenant != "" {
		return t.render(a, b)
	}
	return o.subject.render(a, b)
}

// Send publishes a's Falco JSON. Core NATS: the message is written or
// buffered during a reconnect (an error when the buffer is full). JetStream:
// Send returns once the stream acknowledged it; the message id is derived
// from the payload, so a retried alert is stored once. Until a stream
// being created exists, Send waits for it within the ack timeout.
func (o *Output) Send(ctx context.Context, a *alert.Alert) error {
	bp, _ := o.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer o.bufs.Put(bp)
	subj := string(o.appendSubject((*bp)[:0], a))
	data := o.format.AppendJSON((*bp)[:0], a)
	*bp = data
	if o.js == nil {
		o.mu.Lock()
		defer o.mu.Unlock()
		if err := o.nc.Publish(subj, data); err != nil {
			return err
		}
		if !o.nc.IsConnected() {
			o.buffered++
		}
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, o.cfg.JetStream.AckTimeout)
	defer cancel()
	if o.streamReady != nil {
		select {
		case <-o.streamReady:
		case <-actx.Done():
			return fmt.Errorf("jetstream.stream %s not created yet: %w", o.cfg.JetStream.Stream, actx.Err())
		}
	}
	h := fnv.New128a()
	h.Write(data)
	id := hex.EncodeToString(h.Sum(nil))
	_, err := o.js.Publish(actx, subj, data, jetstream.WithMsgID(id), jetstream.WithExpectStream(o.cfg.JetStream.Stream))
	return err
}

// Close stops the stream creation, flushes what is buffered (within ctx,
// or 5 s when ctx has no deadline) while connected, and closes the
// connection. The core NATS alerts still in the reconnect buffer of a
// disconnected connection are lost: Close logs them and reports them with
// alert.Lost, so the Dispatcher counts them as dropped.
func (o *Output) Close(ctx context.Context) error {
	o.stopBG()
	<-o.bgDone
	var err error
	if o.nc.IsConnected() {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
		}
		err = o.nc.FlushWithContext(ctx)
	} else if o.js == nil {
		o.mu.Lock()
		lost := o.buffered
		o.mu.Unlock()
		if n, _ := o.nc.Buffered(); n > 0 || lost > 0 {
			err = alert.Lost(lost, fmt.Errorf("nats disconnected at shutdown: %d buffered alerts (%d bytes) lost", lost, n))
			o.log.Warn("alerts lost at shutdown", zap.Uint64("alerts", lost), zap.Int("buffered_bytes", n))
		}
	}
	o.nc.Close()
	return err
}

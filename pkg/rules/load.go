package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"gopkg.in/yaml.v3"
)

// EngineVersion is the Falco rules-engine version whose language Vigil
// implements; files whose required_engine_version is higher do not load.
const EngineVersion = "0.57.0"

// supportedPlugins are the Falco plugins whose fields Vigil provides itself.
var supportedPlugins = map[string]bool{"container": true, "k8smeta": true}

type listDef struct {
	name  string
	items []string
	pos   Position
	order int
	used  bool
}

type macroDef struct {
	name  string
	cond  composed
	pos   Position
	order int
	used  bool
	ast   Expr
	bad   bool
	// readBad marks a macro whose item had errors (reported already).
	readBad bool
	// checked is set once the macro's tree is resolved and its checks
	// compiled, by a rule using it or on its own.
	checked bool
}

type excValue struct {
	item   string
	items  []string
	isList bool
}

type exceptionDef struct {
	name         string
	fields       []string
	fieldsIsList bool
	comps        []string
	compsIsList  bool
	values       []excValueRow
	pos          Position
	// hasFields and hasComps record keys given in the item (an append
	// may omit them).
	hasFields, hasComps bool
}

type excValueRow struct {
	vals []excValue
	pos  Position
}

type ruleDef struct {
	name         string
	cond         composed
	output       composed
	desc         string
	priority     alert.Priority
	tags         []string
	source       string
	enabled      bool
	warnEvttypes bool
	skipUnknown  bool
	// capture and captureDuration ask for a capture around the rule's
	// events (Falco's capture and capture_duration, in ms).
	capture         bool
	captureDuration time.Duration
	exceptions      []*exceptionDef
	pos             Position
	order           int
	// bad marks a rule whose items had errors: it is not compiled.
	bad bool
}

// collector gathers the items of every file, applying appends and
// overrides in load order.
type collector struct {
	lists    map[string]*listDef
	macros   map[string]*macroDef
	rules    map[string]*ruleDef
	order    int
	errs     []*Error
	warnings []Warning
	hosts    *HostResolver
}

func (c *collector) errorf(pos Position, item, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: pos, Item: item, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) warnf(pos Position, item, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{Pos: pos, Item: item, Msg: fmt.Sprintf(format, args...)})
}

// LoadOptions configure LoadWith and LoadBytesWith.
type LoadOptions struct {
	// Hosts resolves the host names of fd.*.name checks; nil means
	// DefaultHostResolver().
	Hosts *HostResolver
}

// Load reads rules files and directories in order (a directory's *.yaml and
// *.yml files in name order; every YAML document of a file), later items
// overriding earlier ones, and compiles the result. The error, a
// *LoadError, lists every problem found; warnings do not stop the load.
func Load(paths ...string) (*Ruleset, []Warning, error) {
	return LoadWith(LoadOptions{}, paths...)
}

// LoadWith is Load with options.
func LoadWith(o LoadOptions, paths ...string) (*Ruleset, []Warning, error) {
	c := newCollector(o)
	for _, p := range paths {
		files, err := expandPath(p)
		if err != nil {
			c.errorf(Position{File: p}, "", "%v", err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				c.errorf(Position{File: f}, "", "%v", err)
				continue
			}
			c.readFile(f, data)
		}
	}
	return c.finish()
}

// LoadBytes loads one rules file held in memory; name is used in
// positions.
func LoadBytes(name string, data []byte) (*Ruleset, []Warning, error) {
	return LoadBytesWith(LoadOptions{}, name, data)
}

// LoadBytesWith is LoadBytes with options.
func LoadBytesWith(o LoadOptions, name string, data []byte) (*Ruleset, []Warning, error) {
	c := newCollector(o)
	c.readFile(name, data)
	return c.finish()
}

func newCollector(o LoadOptions) *collector {
	if o.Hosts == nil {
		o.Hosts = DefaultHostResolver()
	}
	return &collector{lists: map[string]*listDef{}, macros: map[string]*macroDef{}, rules: map[string]*ruleDef{}, hosts: o.Hosts}
}

// finish compiles what was read, even after errors, so that one run reports
// the problems of every item; items that had errors are left out.
func (c *collector) finish() (*Ruleset, []Warning, error) {
	rs := c.compile()
	if len(c.errs) > 0 {
		rs.hosts.release(rs.hostEntries)
		return nil, c.warnings, &LoadError{Errs: c.errs}
	}
	if len(rs.hostEntries) > 0 {
		h := rs.hosts
		runtime.AddCleanup(rs, func(es []*hostEntry) { h.release(es) }, rs.hostEntries)
	}
	return rs, c.warnings, nil
}

func expandPath(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			out = append(out, filepath.Join(p, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *collector) readFile(path string, data []byte) {
	f := &srcFile{path: path, lines: strings.Split(string(data), "\n")}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The decoder cannot go on after a syntax error: the documents
			// before it are kept, the rest of the file is lost.
			c.yamlError(path, err)
			return
		}
		c.readDoc(f, &doc)
	}
}

// yamlErrLine matches the line yaml.v3 puts in its syntax errors; they carry
// no column.
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the problems yaml.v3's parser (rather than its
// scanner) reports: it prints their line 0-based.
var yamlParserProblems = set("did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>", "did not find expected <stream-start>",
	"did not find expected key", "did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document", "found undefined tag handle")

// yamlError reports a YAML syntax error at file:line:1 when the parser
// names the line.
func (c *collector) yamlError(path string, err error) {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		if line, aerr := strconv.Atoi(m[1]); aerr == nil && line > 0 {
			if yamlParserProblems[m[2]] {
				line++
			}
			c.errorf(Position{File: path, Line: line, Col: 1}, "", "invalid YAML: %s", m[2])
			return
		}
	}
	c.errorf(Position{File: path}, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// readDoc reads the items of one YAML document of a rules file.
func (c *collector) readDoc(f *srcFile, doc *yaml.Node) {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	if root.Kind != yaml.SequenceNode {
		c.errorf(posOf(f, root), "", "rules file must be a sequence of items, got %s", kindName(root))
		return
	}
	for _, item := range root.Content {
		c.readItem(f, item)
	}
}

func posOf(f *srcFile, n *yaml.Node) Position {
	return Position{File: f.path, Line: n.Line, Col: n.Column}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// mapping is a YAML mapping with its keys in order.
type mapping struct {
	f    *srcFile
	node *yaml.Node
	keys []string
	vals map[string]*yaml.Node
	kpos map[string]*yaml.Node
}

func newMapping(f *srcFile, n *yaml.Node) *mapping {
	m := &mapping{f: f, node: n, vals: map[string]*yaml.Node{}, kpos: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, dup := m.vals[k]; !dup {
			m.keys = append(m.keys, k)
		}
		m.vals[k] = n.Content[i+1]
		m.kpos[k] = n.Content[i]
	}
	return m
}

func (m *mapping) has(k string) bool { _, ok := m.vals[k]; return ok }

// str decodes a non-empty scalar.
func (c *collector) str(m *mapping, item, key string) (string, *yaml.Node, bool) {
	n, ok := m.vals[key]
	if !ok {
		return "", nil, false
	}
	if n.Kind != yaml.ScalarNode {
		c.errorf(posOf(m.f, n), item, "value of %q must be a scalar, got %s", key, kindName(n))
		return "", n, false
	}
	if n.Tag == "!!null" || n.Value == "" {
		c.errorf(posOf(m.f, n), item, "value of %q is empty", key)
		return "", n, false
	}
	return n.Value, n, true
}

func (c *collector) boolean(m *mapping, item, key string, dflt bool) bool {
	n, ok := m.vals[key]
	if !ok {
		return dflt
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		c.errorf(posOf(m.f, n), item, "value of %q must be true or false, got %s", key, describe(n))
		return dflt
	}
	return b
}

// millis decodes a non-negative integer number of milliseconds.
func (c *collector) millis(m *mapping, item, key string, dflt time.Duration) time.Duration {
	n, ok := m.vals[key]
	if !ok {
		return dflt
	}
	var ms int64
	if n.Kind != yaml.ScalarNode || n.Decode(&ms) != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		c.errorf(posOf(m.f, n), item, "value of %q must be a non-negative integer number of milliseconds, got %s", key, describe(n))
		return dflt
	}
	return time.Duration(ms) * time.Millisecond
}

// describe names a node's value for an error message.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}

func (c *collector) strList(m *mapping, item, key string) ([]string, bool) {
	n, ok := m.vals[key]
	if !ok {
		return nil, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return []string{}, true
	}
	if n.Kind != yaml.SequenceNode {
		c.errorf(posOf(m.f, n), item, "value of %q must be a sequence, got %s", key, kindName(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode {
			c.errorf(posOf(m.f, e), item, "items of %q must be scalars, got %s", key, kindName(e))
			return nil, false
		}
		out = append(out, e.Value)
	}
	return out, true
}

func (c *collector) checkKeys(m *mapping, item string, allowed ...string) {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, k := range m.keys {
		if !ok[k] {
			c.warnf(posOf(m.f, m.kpos[k]), item, "unknown key %q", k)
		}
	}
}

// overrides decodes the override mapping: key → append or replace.
func (c *collector) overrides(m *mapping, item string, appendable, replaceable map[string]bool) (app, repl map[string]bool, ok bool) {
	n, has := m.vals["override"]
	if !has {
		return nil, nil, true
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(posOf(m.f, n), item, "value of \"override\" must be a mapping")
		return nil, nil, false
	}
	app, repl = map[string]bool{}, map[string]bool{}
	om := newMapping(m.f, n)
	ok = true
	for _, k := range om.keys {
		v := om.vals[k]
		switch v.Value {
		case "append":
			if !appendable[k] {
				c.errorf(posOf(m.f, v), item, "key %q cannot be appended to", k)
				ok = false
			}
			app[k] = true
		case "replace":
			if !replaceable[k] {
				c.errorf(posOf(m.f, v), item, "key %q cannot be replaced", k)
				ok = false
			}
			repl[k] = true
		default:
			c.errorf(posOf(m.f, v), item, "override of %q must be append or replace, got %q", k, v.Value)
			ok = false
		}
		if !m.has(k) {
			c.errorf(posOf(m.f, om.kpos[k]), item, "an override for %q was specified but %q is not defined", k, k)
			ok = false
		}
	}
	for _, k := range m.keys {
		if (appendable[k] || replaceable[k]) && !app[k] && !repl[k] {
			c.errorf(posOf(m.f, m.kpos[k]), item, "unexpected key %q: no corresponding entry under \"override\" is defined", k)
			ok = false
		}
	}
	return app, repl, ok
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

var (
	ruleKeys = []string{"rule", "condition", "output", "desc", "priority", "tags", "enabled", "source",
		"exceptions", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration", "append", "override"}
	ruleAppendable  = set("condition", "output", "desc", "tags", "exceptions")
	ruleReplaceable = set("condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter",
		"capture", "capture_duration")
)

func (c *collector) readItem(f *srcFile, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty item ("-") is skipped
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(posOf(f, n), "", "each item must be a mapping, got %s", kindName(n))
		return
	}
	m := newMapping(f, n)
	switch {
	case m.has("required_engine_version"):
		c.readEngineVersion(m)
	case m.has("required_plugin_versions"):
		c.readPluginVersions(m)
	case m.has("list"):
		c.readList(m)
	case m.has("macro"):
		c.readMacro(m)
	case m.has("rule"):
		c.readRule(m)
	default:
		key := ""
		if len(m.keys) > 0 {
			key = m.keys[0]
		}
		// Falco skips items it does not know, so that newer files load.
		c.warnf(posOf(f, n), "", "unknown top level item %q: expected rule, macro, list, required_engine_version or required_plugin_versions; skipped", key)
	}
}

func (c *collector) readEngineVersion(m *mapping) {
	n := m.vals["required_engine_version"]
	c.checkKeys(m, "required_engine_version", "required_engine_version")
	if n.Kind != yaml.ScalarNode {
		c.errorf(posOf(m.f, n), "", "required_engine_version must be a scalar")
		return
	}
	want, ok := parseVersion(n.Value)
	if !ok {
		c.errorf(posOf(m.f, n), "", "cannot parse engine version %q: want x.y.z or an integer", n.Value)
		return
	}
	have, _ := parseVersion(EngineVersion)
	if compareVersions(want, have) > 0 {
		c.errorf(posOf(m.f, n), "", "rules require engine version %s, Vigil implements %s", n.Value, EngineVersion)
	}
}

// parseVersion parses "x.y.z" or a bare integer n (which Falco reads as
// 0.n.0).
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return v, false
		}
		v[1] = n
		return v, true
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func compareVersions(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (c *collector) readPluginVersions(m *mapping) {
	n := m.vals["required_plugin_versions"]
	c.checkKeys(m, "required_plugin_versions", "required_plugin_versions")
	if n.Kind != yaml.SequenceNode {
		c.errorf(posOf(m.f, n), "", "required_plugin_versions must be a sequence")
		return
	}
	for _, p := range n.Content {
		if p.Kind != yaml.MappingNode {
			c.errorf(posOf(m.f, p), "", "each required plugin must be a mapping")
			continue
		}
		pm := newMapping(m.f, p)
		name, _, ok := c.str(pm, "required_plugin_versions", "name")
		if !ok {
			if !pm.has("name") {
				c.errorf(posOf(m.f, p), "", "required plugin has no name")
			}
			continue
		}
		if _, _, ok := c.str(pm, "required_plugin_versions", "version"); !ok && !pm.has("version") {
			c.errorf(posOf(m.f, p), "", "required plugin %q has no version", name)
		}
		if !supportedPlugins[name] {
			c.warnf(posOf(m.f, p), "", "plugin %q is not available in Vigil; rules using its fields will not load", name)
		}
	}
}

func (c *collector) readList(m *mapping) {
	name, _, ok := c.str(m, "list", "list")
	if !ok {
		return
	}
	item := fmt.Sprintf("list %q", name)
	c.checkKeys(m, item, "list", "items", "append", "override")
	if !isBareStr(name) {
		c.errorf(posOf(m.f, m.node), item, "invalid list name")
		return
	}
	items, ok := c.strList(m, item, "items")
	if !ok {
		if !m.has("items") {
			c.errorf(posOf(m.f, m.node), item, "list has no items")
		}
		return
	}
	appending, ok := c.appendMode(m, item, "items")
	if !ok {
		return
	}
	pos := posOf(m.f, m.node)
	if appending {
		l, ok := c.lists[name]
		if !ok {
			c.errorf(pos, item, "list has 'append' key or an append override but no list by that name already exists")
			return
		}
		l.items = append(l.items, items...)
		return
	}
	if l, ok := c.lists[name]; ok {
		l.items, l.pos = items, pos
		return
	}
	c.order++
	c.lists[name] = &listDef{name: name, items: items, pos: pos, order: c.order}
}

// appendMode reads a list's or macro's deprecated append flag and its
// override of key, and reports whether the item appends to an earlier one;
// ok is false when the keys are in error (already reported).
func (c *collector) appendMode(m *mapping, item, key string) (appending, ok bool) {
	appendFlag := c.boolean(m, item, "append", false)
	if appendFlag {
		c.warnf(posOf(m.f, m.node), item, "the append key is deprecated, use override")
	}
	app, _, ok := c.overrides(m, item, set(key), set(key))
	if !ok {
		return false, false
	}
	if appendFlag && m.has("override") {
		c.errorf(posOf(m.f, m.node), item, "keys append and override cannot be used together")
		return false, false
	}
	return appendFlag || app[key], true
}

func (c *collector) readMacro(m *mapping) {
	name, _, ok := c.str(m, "macro", "macro")
	if !ok {
		return
	}
	item := fmt.Sprintf("macro %q", name)
	// A macro with errors stays defined, marked bad, so that the rules
	// using it say so rather than call it undefined.
	nerr := len(c.errs)
	defer func() {
		if len(c.errs) == nerr || !isIdentifier(name) {
			return
		}
		if d := c.macros[name]; d != nil {
			d.bad = true
			return
		}
		c.order++
		c.macros[name] = &macroDef{name: name, pos: posOf(m.f, m.node), order: c.order, bad: true, readBad: true}
	}()
	c.checkKeys(m, item, "macro", "condition", "append", "override")
	if !isIdentifier(name) {
		c.errorf(posOf(m.f, m.node), item, "invalid macro name: want [a-zA-Z][a-zA-Z0-9_]*")
		return
	}
	cond, cn, ok := c.str(m, item, "condition")
	if !ok {
		if !m.has("condition") {
			c.errorf(posOf(m.f, m.node), item, "macro has no condition")
		}
		return
	}
	appending, ok := c.appendMode(m, item, "condition")
	if !ok {
		return
	}
	pos := posOf(m.f, m.node)
	if appending {
		d, ok := c.macros[name]
		if !ok {
			c.errorf(pos, item, "macro has 'append' key or an append override but no macro by that name already exists")
			return
		}
		d.cond.add(" ", cond, locOf(m.f, cn))
		return
	}
	d := &macroDef{name: name, pos: pos}
	d.cond.add(" ", cond, locOf(m.f, cn))
	if old, ok := c.macros[name]; ok {
		d.order = old.order
	} else {
		c.order++
		d.order = c.order
	}
	c.macros[name] = d
}

func isIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func (c *collector) readRule(m *mapping) {
	name, _, ok := c.str(m, "rule", "rule")
	if !ok {
		return
	}
	item := fmt.Sprintf("rule %q", name)
	// A rule with errors stays defined, so that later items about it do
	// not add errors of their own, but is not compiled.
	nerr := len(c.errs)
	defer func() {
		if r := c.rules[name]; r != nil && len(c.errs) > nerr {
			r.bad = true
		}
	}()
	c.checkKeys(m, item, ruleKeys...)
	pos := posOf(m.f, m.node)
	appendFlag := c.boolean(m, item, "append", false)
	if appendFlag {
		c.warnf(pos, item, "the append key is deprecated, use override")
	}
	app, repl, ok := c.overrides(m, item, ruleAppendable, ruleReplaceable)
	if !ok {
		return
	}
	if appendFlag && m.has("override") {
		c.errorf(pos, item, "keys append and override cannot be used together")
		return
	}
	if m.has("override") || appendFlag {
		r, ok := c.rules[name]
		if !ok {
			c.errorf(pos, item, "rule has 'append' key or an override but no rule by that name already exists")
			return
		}
		if appendFlag {
			// As Falco does, append: true appends the condition and the
			// exceptions and ignores every other key.
			app = map[string]bool{}
			for _, k := range []string{"condition", "exceptions"} {
				if m.has(k) {
					app[k] = true
				}
			}
			if len(app) == 0 {
				c.errorf(pos, item, "appended rule must have a condition or exceptions")
				return
			}
			for _, k := range m.keys {
				if k != "rule" && k != "append" && !app[k] {
					c.warnf(posOf(m.f, m.kpos[k]), item, "key %q is ignored with append: true (only condition and exceptions are appended)", k)
				}
			}
		}
		c.updateRule(m, item, r, app, true)
		c.updateRule(m, item, r, repl, false)
		return
	}
	// An item with only `enabled` toggles an earlier rule.
	if !m.has("condition") && !m.has("output") && !m.has("desc") && !m.has("priority") {
		r, ok := c.rules[name]
		if !ok {
			c.errorf(pos, item, "rule has no condition, output, desc or priority, and no rule by that name already exists to enable or disable")
			return
		}
		if !m.has("enabled") {
			c.errorf(pos, item, "rule has no condition, output, desc, priority or enabled")
			return
		}
		r.enabled = c.boolean(m, item, "enabled", r.enabled)
		return
	}
	r := &ruleDef{name: name, pos: pos, enabled: true, warnEvttypes: true, source: "syscall"}
	for _, k := range []string{"condition", "output", "desc", "priority"} {
		if !m.has(k) {
			c.errorf(pos, item, "rule has no %q", k)
		}
	}
	if cond, cn, ok := c.str(m, item, "condition"); ok {
		r.cond.add(" ", cond, locOf(m.f, cn))
	}
	if out, on, ok := c.str(m, item, "output"); ok {
		r.output.add(" ", strings.TrimSpace(out), locOf(m.f, on))
	}
	if d, _, ok := c.str(m, item, "desc"); ok {
		r.desc = d
	}
	if p, pn, ok := c.str(m, item, "priority"); ok {
		pr, err := alert.ParsePriority(p)
		if err != nil {
			c.errorf(posOf(m.f, pn), item, "%v", err)
		}
		r.priority = pr
	}
	if s, _, ok := c.str(m, item, "source"); ok {
		r.source = s
	}
	r.enabled = c.boolean(m, item, "enabled", true)
	r.warnEvttypes = c.boolean(m, item, "warn_evttypes", true)
	r.skipUnknown = c.boolean(m, item, "skip-if-unknown-filter", false)
	r.capture = c.boolean(m, item, "capture", false)
	r.captureDuration = c.millis(m, item, "capture_duration", 0)
	if tags, ok := c.strList(m, item, "tags"); ok {
		r.tags = normTags(tags)
	}
	r.exceptions = c.readExceptions(m, item, false)
	if old, ok := c.rules[name]; ok {
		r.order = old.order
	} else {
		c.order++
		r.order = c.order
	}
	c.rules[name] = r
}

// normTags sorts and deduplicates tags, as Falco keeps them in a set.
func normTags(tags []string) []string {
	out := append([]string{}, tags...)
	sort.Strings(out)
	j := 0
	for i, t := range out {
		if i == 0 || t != out[j-1] {
			out[j] = t
			j++
		}
	}
	return out[:j]
}

// updateRule applies the keys of an override (or append) item to r.
func (c *collector) updateRule(m *mapping, item string, r *ruleDef, keys map[string]bool, appending bool) {
	if keys["condition"] {
		if cond, cn, ok := c.str(m, item, "condition"); ok {
			if appending {
				r.cond.add(" ", cond, locOf(m.f, cn))
			} else {
				r.cond = composed{}
				r.cond.add(" ", cond, locOf(m.f, cn))
			}
		}
	}
	if keys["output"] {
		if out, on, ok := c.str(m, item, "output"); ok {
			if !appending {
				r.output = composed{}
			}
			r.output.add(" ", strings.TrimSpace(out), locOf(m.f, on))
		}
	}
	if keys["desc"] {
		if d, _, ok := c.str(m, item, "desc"); ok {
			if appending {
				r.desc += " " + d
			} else {
				r.desc = d
			}
		}
	}
	if keys["tags"] {
		if tags, ok := c.strList(m, item, "tags"); ok {
			if appending {
				tags = append(tags, r.tags...)
			}
			r.tags = normTags(tags)
		}
	}
	if keys["priority"] {
		if p, pn, ok := c.str(m, item, "priority"); ok {
			pr, err := alert.ParsePriority(p)
			if err != nil {
				c.errorf(posOf(m.f, pn), item, "%v", err)
			}
			r.priority = pr
		}
	}
	if keys["enabled"] {
		r.enabled = c.boolean(m, item, "enabled", r.enabled)
	}
	if keys["warn_evttypes"] {
		r.warnEvttypes = c.boolean(m, item, "warn_evttypes", r.warnEvttypes)
	}
	if keys["skip-if-unknown-filter"] {
		r.skipUnknown = c.boolean(m, item, "skip-if-unknown-filter", r.skipUnknown)
	}
	if keys["capture"] {
		r.capture = c.boolean(m, item, "capture", r.capture)
	}
	if keys["capture_duration"] {
		r.captureDuration = c.millis(m, item, "capture_duration", r.captureDuration)
	}
	if keys["exceptions"] {
		exs := c.readExceptions(m, item, appending)
		if !appending {
			r.exceptions = exs
			return
		}
		for _, ex := range exs {
			var old *exceptionDef
			for _, o := range r.exceptions {
				if o.name == ex.name {
					old = o
				}
			}
			if old == nil {
				if len(ex.fields) == 0 {
					c.errorf(ex.pos, item, "exception %q appended to a rule that has no such exception needs fields", ex.name)
					continue
				}
				r.exceptions = append(r.exceptions, ex)
				continue
			}
			c.appendException(item, old, ex)
		}
	}
}

// appendException adds the values of ex to the rule's exception old of the
// same name. As in Falco, only values can be appended: fields or comps that
// differ from old's are an error, and each row must fit old's fields.
func (c *collector) appendException(item string, old, ex *exceptionDef) {
	if ex.hasFields && (ex.fieldsIsList != old.fieldsIsList || !slices.Equal(ex.fields, old.fields)) {
		c.errorf(ex.pos, item, "exception %q: can only append values to an existing exception, not fields (%s differ from %s)",
			ex.name, strings.Join(ex.fields, ", "), strings.Join(old.fields, ", "))
		return
	}
	if ex.hasComps && !slices.Equal(ex.comps, old.comps) {
		c.errorf(ex.pos, item, "exception %q: can only append values to an existing exception, not comps (%s differ from %s)",
			ex.name, strings.Join(ex.comps, ", "), strings.Join(old.comps, ", "))
		return
	}
	for _, row := range ex.values {
		switch {
		case old.fieldsIsList && len(row.vals) != len(old.fields):
			c.errorf(row.pos, item, "exception %q: fields and values lists must have equal length (%d fields, %d values)", ex.name, len(old.fields), len(row.vals))
			return
		case !old.fieldsIsList && (len(row.vals) != 1 || row.vals[0].isList):
			c.errorf(row.pos, item, "exception %q: with a single field, each value must be a string", ex.name)
			return
		}
	}
	old.values = append(old.values, ex.values...)
}

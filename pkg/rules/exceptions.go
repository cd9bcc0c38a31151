package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// readExceptions decodes a rule's exceptions. When appending, fields may be
// omitted (the values go to the exception of the same name).
func (c *collector) readExceptions(m *mapping, item string, appending bool) []*exceptionDef {
	n, ok := m.vals["exceptions"]
	if !ok || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.errorf(posOf(m.f, n), item, "exceptions must be a sequence")
		return nil
	}
	var out []*exceptionDef
	for _, en := range n.Content {
		if en.Kind != yaml.MappingNode {
			c.errorf(posOf(m.f, en), item, "each exception must be a mapping")
			continue
		}
		em := newMapping(m.f, en)
		c.checkKeys(em, item, "name", "fields", "comps", "values")
		ex := &exceptionDef{pos: posOf(m.f, en)}
		name, _, ok := c.str(em, item, "name")
		if !ok {
			if !em.has("name") {
				c.errorf(ex.pos, item, "exception has no name")
			}
			continue
		}
		ex.name = name
		dup := false
		for _, o := range out {
			dup = dup || o.name == name
		}
		if dup {
			c.errorf(ex.pos, item, "exception names must be unique, %q repeats", name)
			continue
		}
		ex.fields, ex.fieldsIsList, ok = c.strOrList(em, item, "fields")
		if !ok {
			continue
		}
		ex.hasFields, ex.hasComps = em.has("fields"), em.has("comps")
		if !em.has("fields") && !appending {
			c.errorf(ex.pos, item, "exception %q has no fields", name)
			continue
		}
		ex.comps, ex.compsIsList, ok = c.strOrList(em, item, "comps")
		if !ok {
			continue
		}
		if em.has("fields") {
			if !c.checkComps(em, item, ex) {
				continue
			}
		}
		if vn, ok := em.vals["values"]; ok && !(vn.Kind == yaml.ScalarNode && vn.Tag == "!!null") {
			if vn.Kind != yaml.SequenceNode {
				c.errorf(posOf(m.f, vn), item, "exception %q: values must be a sequence", name)
				continue
			}
			bad := false
			for _, row := range vn.Content {
				r, ok := c.readExcRow(m.f, item, name, row)
				if !ok {
					bad = true
					continue
				}
				if em.has("fields") && ex.fieldsIsList && len(r.vals) != len(ex.fields) {
					c.errorf(r.pos, item, "exception %q: fields and values lists must have equal length (%d fields, %d values)", name, len(ex.fields), len(r.vals))
					bad = true
					continue
				}
				if em.has("fields") && !ex.fieldsIsList && (len(r.vals) != 1 || r.vals[0].isList) {
					c.errorf(r.pos, item, "exception %q: with a single field, each value must be a string", name)
					bad = true
					continue
				}
				ex.values = append(ex.values, r)
			}
			if bad {
				continue
			}
		} else if appending {
			c.warnf(ex.pos, item, "overriding/appending exception %q with no values", name)
		}
		out = append(out, ex)
	}
	return out
}

func (c *collector) strOrList(m *mapping, item, key string) ([]string, bool, bool) {
	n, ok := m.vals[key]
	if !ok {
		return nil, false, true
	}
	if n.Kind == yaml.ScalarNode {
		if n.Value == "" {
			c.errorf(posOf(m.f, n), item, "%s is empty", key)
			return nil, false, false
		}
		return []string{n.Value}, false, true
	}
	l, ok := c.strList(m, item, key)
	return l, true, ok
}

// checkComps fills default comparison operators and validates them.
func (c *collector) checkComps(m *mapping, item string, ex *exceptionDef) bool {
	if len(ex.comps) == 0 {
		if ex.fieldsIsList {
			for range ex.fields {
				ex.comps = append(ex.comps, "=")
			}
			ex.compsIsList = true
		} else {
			ex.comps = []string{"in"}
		}
	}
	if ex.fieldsIsList != ex.compsIsList || len(ex.comps) != len(ex.fields) {
		c.errorf(ex.pos, item, "exception %q: fields and comps lists must have equal length", ex.name)
		return false
	}
	if !ex.fieldsIsList && !listOps[ex.comps[0]] {
		pos := ex.pos
		if n, ok := m.vals["comps"]; ok {
			pos = posOf(m.f, n)
		}
		c.errorf(pos, item, "exception %q: with a single field (%s), comps must be in, pmatch or intersects, got %q", ex.name, ex.fields[0], ex.comps[0])
		return false
	}
	for _, op := range ex.comps {
		if !wordOps[op] && op != "=" && op != "==" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=" {
			c.errorf(ex.pos, item, "exception %q: invalid comparison operator %q", ex.name, op)
			return false
		}
	}
	for _, f := range ex.fields {
		if _, _, _, ok := lookupField(stripArg(f)); !ok {
			c.errorf(ex.pos, item, "exception %q: unknown field %s", ex.name, f)
			return false
		}
	}
	return true
}

func stripArg(f string) string {
	if i := strings.IndexByte(f, '['); i >= 0 {
		return f[:i]
	}
	return f
}

func (c *collector) readExcRow(f *srcFile, item, name string, row *yaml.Node) (excValueRow, bool) {
	r := excValueRow{pos: posOf(f, row)}
	one := func(n *yaml.Node) (excValue, bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			return excValue{item: n.Value}, true
		case yaml.SequenceNode:
			v := excValue{isList: true}
			for _, e := range n.Content {
				if e.Kind != yaml.ScalarNode {
					c.errorf(posOf(f, e), item, "exception %q: values must be strings or lists of strings", name)
					return v, false
				}
				v.items = append(v.items, e.Value)
			}
			return v, true
		}
		c.errorf(posOf(f, n), item, "exception %q: values must be strings or lists of strings", name)
		return excValue{}, false
	}
	if row.Kind == yaml.SequenceNode {
		for _, e := range row.Content {
			v, ok := one(e)
			if !ok {
				return r, false
			}
			r.vals = append(r.vals, v)
		}
		return r, true
	}
	v, ok := one(row)
	if !ok {
		return r, false
	}
	r.vals = []excValue{v}
	return r, true
}

// quoteItem quotes a value holding a space, unless it is already quoted.
func quoteItem(s string) string {
	if strings.Contains(s, " ") && s != "" && s[0] != '"' && s[0] != '\'' {
		return `"` + s + `"`
	}
	return s
}

func parenItem(s string) string {
	if s == "" || s[0] != '(' {
		return "(" + s + ")"
	}
	return s
}

// exceptionCondition builds the text Falco appends to a rule's condition
// for its exceptions: " and not (...)" per exception with values.
func exceptionCondition(exs []*exceptionDef) string {
	var b strings.Builder
	for _, ex := range exs {
		var ic strings.Builder
		if !ex.fieldsIsList {
			for i, row := range ex.values {
				if i == 0 {
					fmt.Fprintf(&ic, "(%s %s (", ex.fields[0], ex.comps[0])
				} else {
					ic.WriteString(", ")
				}
				ic.WriteString(quoteItem(row.vals[0].item))
			}
			if ic.Len() > 0 {
				ic.WriteString("))")
			}
		} else if len(ex.values) > 0 {
			ic.WriteString("(")
			for i, row := range ex.values {
				if i > 0 {
					ic.WriteString(" or ")
				}
				ic.WriteString("(")
				for k, field := range ex.fields {
					if k > 0 {
						ic.WriteString(" and ")
					}
					v := row.vals[k]
					var s string
					if v.isList {
						parts := make([]string, len(v.items))
						for j, it := range v.items {
							parts[j] = quoteItem(it)
						}
						s = "(" + strings.Join(parts, ", ") + ")"
					} else if listOps[ex.comps[k]] {
						s = parenItem(v.item)
					} else {
						s = quoteItem(v.item)
					}
					fmt.Fprintf(&ic, " %s %s %s", field, ex.comps[k], s)
				}
				ic.WriteString(")")
			}
			ic.WriteString(")")
		}
		if ic.Len() > 0 {
			b.WriteString(" and not ")
			b.WriteString(ic.String())
		}
	}
	return b.String()
}

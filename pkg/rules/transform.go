package rules

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// transform wraps an extractor with a transformer. Every transformer takes a
// string; len returns an integer, the others a string.
func transform(name string, ex extractor, typ FieldType) (extractor, FieldType, error) {
	if typ != TypeString {
		return nil, 0, fmt.Errorf("transformer %s needs a string field, not %s", name, typ)
	}
	switch name {
	case "tolower", "toupper":
		upper := name == "toupper"
		return func(c *Ctx, i int) (value, bool) {
			v, ok := ex(c, i)
			if !ok {
				return v, false
			}
			start := len(c.buf)
			for j := 0; j < len(v.s); j++ {
				b := v.s[j]
				if upper && b >= 'a' && b <= 'z' {
					b -= 'a' - 'A'
				} else if !upper && b >= 'A' && b <= 'Z' {
					b += 'a' - 'A'
				}
				c.buf = append(c.buf, b)
			}
			return value{s: c.tail(start)}, true
		}, TypeString, nil
	case "b64":
		return func(c *Ctx, i int) (value, bool) {
			v, ok := ex(c, i)
			if !ok {
				return v, false
			}
			start := len(c.buf)
			var err error
			c.buf, err = base64.StdEncoding.AppendDecode(c.buf, []byte(v.s))
			if err != nil {
				c.buf = c.buf[:start]
				return value{}, false
			}
			return value{s: c.tail(start)}, true
		}, TypeString, nil
	case "basename":
		return func(c *Ctx, i int) (value, bool) {
			v, ok := ex(c, i)
			if !ok {
				return v, false
			}
			return value{s: basename(v.s)}, true
		}, TypeString, nil
	case "len":
		return func(c *Ctx, i int) (value, bool) {
			v, ok := ex(c, i)
			if !ok {
				return v, false
			}
			return value{n: int64(len(v.s))}, true
		}, TypeInt, nil
	}
	return nil, 0, fmt.Errorf("unknown transformer %s", name)
}

// basename returns the last path component ("" for a path ending in "/"),
// as Falco's basename transformer does.
func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

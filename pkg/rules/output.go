package rules

import (
	"strconv"
	"strings"
)

// Format is a parsed rule output: literal text and %field tokens.
type Format struct {
	parts []outPart
	// Tokens are the field tokens as written (without %), in order, each
	// once: the keys of an alert's output fields.
	Tokens []string
}

type outPart struct {
	lit string
	tok string // empty for literal text
	ex  extractor
	typ FieldType
}

// parseOutput parses an output format. A token is % followed by a field
// (with optional [arg]) or by transformer(field); a % followed by anything
// else is literal.
func parseOutput(s string) (*Format, error) {
	f := &Format{}
	seen := map[string]bool{}
	var lit strings.Builder
	i := 0
	for i < len(s) {
		if s[i] != '%' || i+1 >= len(s) || !isIdentStart(s[i+1]) {
			lit.WriteByte(s[i])
			i++
			continue
		}
		p := &parser{s: s, i: i + 1}
		ref, err := p.parseField()
		if err != nil {
			if se, ok := err.(*SyntaxError); ok {
				return nil, errAt(se.Offset, "%s", se.Msg)
			}
			return nil, err
		}
		tok := s[i+1 : p.i]
		ex, typ, _, err := bindField(&ref)
		if err != nil {
			return nil, errAt(i, "%v", err)
		}
		if lit.Len() > 0 {
			f.parts = append(f.parts, outPart{lit: lit.String()})
			lit.Reset()
		}
		f.parts = append(f.parts, outPart{tok: tok, ex: ex, typ: typ})
		if !seen[tok] {
			seen[tok] = true
			f.Tokens = append(f.Tokens, tok)
		}
		i = p.i
	}
	if lit.Len() > 0 {
		f.parts = append(f.parts, outPart{lit: lit.String()})
	}
	return f, nil
}

// appendValue renders an extracted value as text.
func appendValue(b []byte, typ FieldType, v value) []byte {
	switch typ {
	case TypeString:
		return append(b, v.s...)
	case TypeInt:
		return strconv.AppendInt(b, v.n, 10)
	case TypeUint:
		return strconv.AppendUint(b, uint64(v.n), 10)
	case TypeBool:
		return strconv.AppendBool(b, v.n != 0)
	case TypeIP, TypeIPNet:
		return v.ip.AppendTo(b)
	}
	return b
}

// typedValue converts an extracted value for an alert's output fields; it
// copies strings out of the scratch space.
func typedValue(typ FieldType, v value) any {
	switch typ {
	case TypeString:
		return strings.Clone(v.s)
	case TypeInt:
		return v.n
	case TypeUint:
		return uint64(v.n)
	case TypeBool:
		return v.n != 0
	case TypeIP, TypeIPNet:
		return v.ip.String()
	}
	return nil
}

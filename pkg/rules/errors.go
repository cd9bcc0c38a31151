package rules

import (
	"fmt"
	"strings"
)

// Position locates an item of a rules file.
type Position struct {
	// File is the path of the rules file.
	File string
	// Line and Col are 1-based; 0 when unknown.
	Line, Col int
}

// String formats p as file:line:col.
func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem found while loading rules.
type Error struct {
	Pos Position
	// Item names the list, macro or rule concerned (`rule "Foo"`), empty
	// when the problem is not inside an item.
	Item string
	// Msg says what is wrong.
	Msg string
}

// Error formats e as "file:line:col: item: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Item != "" {
		b.WriteString(e.Item)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Warning is a problem that does not stop the load (unknown keys, rules that
// match too many event types, unused lists and macros, deprecated forms).
type Warning struct {
	Pos  Position
	Item string
	Msg  string
}

// String formats w like an Error.
func (w Warning) String() string {
	e := Error(w)
	return e.Error()
}

// LoadError is returned by Load when at least one problem was found; it lists
// every problem in file order.
type LoadError struct {
	Errs []*Error
}

// Error joins every problem, one a line.
func (e *LoadError) Error() string {
	parts := make([]string, len(e.Errs))
	for i, x := range e.Errs {
		parts[i] = x.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *LoadError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, x := range e.Errs {
		out[i] = x
	}
	return out
}

// SyntaxError is a condition or output that does not parse; Offset is the
// byte offset of the problem in the text.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error returns the message with its offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Msg)
}

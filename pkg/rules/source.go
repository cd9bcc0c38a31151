package rules

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// srcFile is one rules file being loaded.
type srcFile struct {
	path  string
	lines []string
}

// textLoc locates a scalar of a rules file, so that an offset into its
// value maps back to a line and column.
type textLoc struct {
	file  *srcFile
	line  int
	col   int
	style yaml.Style
}

func locOf(f *srcFile, n *yaml.Node) textLoc {
	if n == nil {
		return textLoc{file: f}
	}
	return textLoc{file: f, line: n.Line, col: n.Column, style: n.Style}
}

func (l textLoc) pos() Position {
	if l.file == nil {
		return Position{}
	}
	return Position{File: l.file.path, Line: l.line, Col: l.col}
}

// at maps a byte offset of the scalar's value to a position in the file.
// Folded and multi-line scalars join lines with one character, which the
// walk below mirrors.
func (l textLoc) at(off int) Position {
	if l.file == nil || l.line == 0 {
		return l.pos()
	}
	line, col := l.line, l.col
	switch l.style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line++
		col = 0
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	}
	for line-1 < len(l.file.lines) {
		text := l.file.lines[line-1]
		if col == 0 {
			col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
		}
		content := ""
		if col-1 <= len(text) {
			content = strings.TrimRight(text[col-1:], " \t")
		}
		if off <= len(content) {
			return Position{File: l.file.path, Line: line, Col: col + off}
		}
		off -= len(content) + 1
		line++
		col = 0
	}
	return l.pos()
}

// segment is a part of a composed text (a condition with appends and
// exceptions) and where it came from.
type segment struct {
	start int
	loc   textLoc
}

// composed is a text built from several scalars.
type composed struct {
	text string
	segs []segment
}

func (c *composed) add(sep, text string, loc textLoc) {
	if c.text != "" {
		c.text += sep
	}
	c.segs = append(c.segs, segment{start: len(c.text), loc: loc})
	c.text += text
}

// at maps an offset of the composed text to a file position.
func (c *composed) at(off int) Position {
	for i := len(c.segs) - 1; i >= 0; i-- {
		if off >= c.segs[i].start {
			return c.segs[i].loc.at(off - c.segs[i].start)
		}
	}
	return Position{}
}

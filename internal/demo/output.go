package demo

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/term"
)

// ANSI colours used on a terminal.
const (
	colorReset  = "\x1b[0m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorCyan   = "\x1b[36m"
)

// printer writes the demo's output: P/S tokens wrapped to the terminal
// width, and messages on lines of their own. It is safe for concurrent use
// because breaker callbacks may print from other goroutines.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	quiet  bool
	width  int
	column int
}

// newPrinter decides colour and width for w: colour only on a terminal and
// only when NO_COLOR is unset or empty; the width of the terminal, else
// $COLUMNS, else 80.
func newPrinter(w io.Writer, quiet bool) *printer {
	p := &printer{w: w, quiet: quiet, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.color = colorWanted(os.Getenv("NO_COLOR"))
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 10 {
			p.width = cols
		}
	} else if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 10 {
		p.width = cols
	}
	return p
}

// colorWanted applies the NO_COLOR convention (no-color.org) for a
// terminal: any non-empty value turns colour off; an empty one does not.
func colorWanted(noColor string) bool { return noColor == "" }

func (p *printer) paint(color, s string) string {
	if !p.color || color == "" {
		return s
	}
	return color + s + colorReset
}

// token prints one read marker such as P12 or S13, wrapping before it would
// pass the width.
func (p *printer) token(s, color string) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	need := len(s)
	if p.column > 0 {
		need++
	}
	if p.column > 0 && p.column+need > p.width {
		fmt.Fprintln(p.w)
		p.column = 0
		need = len(s)
	}
	if p.column > 0 {
		fmt.Fprint(p.w, " ")
	}
	fmt.Fprint(p.w, p.paint(color, s))
	p.column += need
}

// line prints a message on a line of its own.
func (p *printer) line(color, format string, args ...any) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.column > 0 {
		fmt.Fprintln(p.w)
		p.column = 0
	}
	fmt.Fprintln(p.w, p.paint(color, fmt.Sprintf(format, args...)))
}

// final prints a line even in quiet mode: the summary.
func (p *printer) final(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.column > 0 {
		fmt.Fprintln(p.w)
		p.column = 0
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

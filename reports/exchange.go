package reports

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cutover/cutover/diff"
)

// An exchange is shown the way Diffy shows one: legacy and candidate side
// by side, status line, headers and body aligned row by row, the differing
// parts highlighted and noise dimmed.

// The classes of a side-by-side cell.
const (
	cellSame  = ""
	cellDiff  = "hl"
	cellNoise = "noise"
)

// Bounds of the side-by-side view, so that a page stays readable.
const (
	exchangeLines   = 300 // body lines per side
	exchangeLineCut = 240 // longer lines are cut around their difference
)

// exchangeView is one exchange as the HTML shows it.
type exchangeView struct {
	Request, Host, Time string
	Rows                []exchangeRow
}

// exchangeRow is one aligned row; Section starts a part ("headers", "body").
type exchangeRow struct {
	Section           string
	Legacy, Candidate cell
}

// cell is one side of a row: text in parts, the differing ones marked.
type cell struct {
	Class  string
	Parts  []part
	Absent bool // the side has no such line
}

type part struct {
	Text string
	Mark bool
}

func plainCell(text, class string) cell { return cell{Class: class, Parts: []part{{Text: text}}} }

// newExchangeView lays one sample out side by side.
func newExchangeView(x diff.ExchangeSample) exchangeView {
	v := exchangeView{}
	if r := x.Request; r != nil {
		v.Request, v.Host = r.Method+" "+r.URI, r.Host
	}
	if x.Time != nil {
		v.Time = x.Time.UTC().Format(time.RFC3339)
	}
	classOf := map[string]string{} // path → class
	bodyClass := cellSame
	for _, d := range x.Differences {
		c := cellDiff
		if d.Noise {
			c = cellNoise
		}
		if classOf[d.Path] != cellDiff {
			classOf[d.Path] = c
		}
		if d.Path == "body" || strings.HasPrefix(d.Path, "body.") || strings.HasPrefix(d.Path, "body[") {
			if bodyClass != cellDiff {
				bodyClass = c
			}
		}
	}
	l, c := x.Legacy, x.Candidate
	if l == nil || c == nil {
		return v
	}
	ls, cs := statusLine(l), statusLine(c)
	row := exchangeRow{Section: "status", Legacy: plainCell(ls, cellSame), Candidate: plainCell(cs, cellSame)}
	if k := classOf["status"]; k != "" {
		row.Legacy, row.Candidate = markedPair(ls, cs, k)
	}
	v.Rows = append(v.Rows, row)

	names := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, h := range []map[string][]string{l.Header, c.Header} {
			for n := range h {
				if !seen[n] && !yield(n) {
					return
				}
				seen[n] = true
			}
		}
	})
	section := "headers"
	for _, name := range names {
		lv, cv := l.Header[name], c.Header[name]
		k := classOf["header."+name]
		for i := range max(len(lv), len(cv)) {
			row := exchangeRow{Section: section}
			section = ""
			lt, lok := lineAt(lv, i, name)
			ct, cok := lineAt(cv, i, name)
			switch {
			case lok && cok && k != "" && lt != ct:
				row.Legacy, row.Candidate = markedPair(lt, ct, k)
			default:
				row.Legacy, row.Candidate = lineCell(lt, lok, k), lineCell(ct, cok, k)
			}
			v.Rows = append(v.Rows, row)
		}
	}
	v.Rows = append(v.Rows, bodyRows(l, c, bodyClass)...)
	return v
}

func lineAt(values []string, i int, name string) (string, bool) {
	if i < len(values) {
		return name + ": " + values[i], true
	}
	return "", false
}

func lineCell(text string, ok bool, class string) cell {
	if !ok {
		return cell{Absent: true, Class: class}
	}
	if class == "" {
		return plainCell(text, cellSame)
	}
	return cell{Class: class, Parts: []part{{Text: text, Mark: true}}}
}

func statusLine(r *diff.ResponseSample) string {
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	return strings.TrimSpace(fmt.Sprintf("%s %d %s", proto, r.Status, http.StatusText(r.Status)))
}

// bodyRows aligns the two bodies line by line (JSON indented first).
func bodyRows(l, c *diff.ResponseSample, class string) []exchangeRow {
	lb, cb := bodyLines(l), bodyLines(c)
	if len(lb) == 0 && len(cb) == 0 {
		return nil
	}
	if class == cellSame {
		class = cellDiff // lines that differ where no difference was reported still differ
	}
	// JSON members in another order are no difference: a line found on
	// the other side too is shown plain, only out of place; the lines
	// left are paired side by side and their differing parts marked.
	inL, inC := lineSet(lb), lineSet(cb)
	rows := []exchangeRow{}
	var runL, runC []int
	flush := func() {
		var pl, pc []int
		for _, i := range runL {
			if inC[lineKey(lb[i])] {
				rows = append(rows, exchangeRow{Legacy: plainCell(cutLine(lb[i]), cellSame), Candidate: cell{Absent: true}})
			} else {
				pl = append(pl, i)
			}
		}
		for _, j := range runC {
			if inL[lineKey(cb[j])] {
				rows = append(rows, exchangeRow{Legacy: cell{Absent: true}, Candidate: plainCell(cutLine(cb[j]), cellSame)})
			} else {
				pc = append(pc, j)
			}
		}
		for k := range max(len(pl), len(pc)) {
			row := exchangeRow{}
			switch {
			case k < len(pl) && k < len(pc):
				row.Legacy, row.Candidate = markedPair(lb[pl[k]], cb[pc[k]], class)
			case k < len(pl):
				row.Legacy, row.Candidate = lineCell(cutLine(lb[pl[k]]), true, class), cell{Absent: true, Class: class}
			default:
				row.Legacy, row.Candidate = cell{Absent: true, Class: class}, lineCell(cutLine(cb[pc[k]]), true, class)
			}
			rows = append(rows, row)
		}
		runL, runC = runL[:0], runC[:0]
	}
	for _, op := range alignLines(lb, cb) {
		if op.l >= 0 && op.c >= 0 && lb[op.l] == cb[op.c] {
			flush()
			rows = append(rows, exchangeRow{Legacy: plainCell(lb[op.l], cellSame), Candidate: plainCell(cb[op.c], cellSame)})
			continue
		}
		if op.l >= 0 {
			runL = append(runL, op.l)
		}
		if op.c >= 0 {
			runC = append(runC, op.c)
		}
	}
	flush()
	rows[0].Section = "body"
	return rows
}

func bodyLines(r *diff.ResponseSample) []string {
	switch {
	case r.Binary:
		return []string{fmt.Sprintf("(binary body, %d bytes)", r.BodyBytes)}
	case r.Body == "":
		return nil
	}
	lines := strings.Split(pretty(r.Body, ""), "\n")
	if len(lines) > exchangeLines {
		lines = append(lines[:exchangeLines], fmt.Sprintf("… %d more lines", len(lines)-exchangeLines))
	}
	if len(r.Body) < r.BodyBytes && r.Decoded == "" {
		lines = append(lines, fmt.Sprintf("… (cut at %d of %d bytes)", len(r.Body), r.BodyBytes))
	}
	return lines
}

// markedPair marks what differs between two lines: the common start and
// end stay plain, the middle is marked; long lines are cut around it.
func markedPair(l, c, class string) (cell, cell) {
	at := commonPrefix(l, c)
	end := commonSuffix(l[at:], c[at:])
	mk := func(s string) cell {
		mid := s[at : len(s)-end]
		pre, post := s[:at], s[len(s)-end:]
		if len(pre) > exchangeLineCut/3 {
			pre = "…" + tail(pre, exchangeLineCut/3)
		}
		if len(mid) > exchangeLineCut {
			mid = head(mid, exchangeLineCut) + "…"
		}
		if len(post) > exchangeLineCut/3 {
			post = head(post, exchangeLineCut/3) + "…"
		}
		parts := []part{{Text: pre}, {Text: mid, Mark: true}, {Text: post}}
		if mid == "" { // one side is the other plus more: mark the place
			parts[1].Text = ""
		}
		return cell{Class: class, Parts: parts}
	}
	return mk(l), mk(c)
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(a) && !utf8.RuneStart(a[i]) {
		i--
	}
	return i
}

func commonSuffix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	for i > 0 && i < len(a) && !utf8.RuneStart(a[len(a)-i]) {
		i--
	}
	return i
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

func cutLine(s string) string {
	if len(s) <= exchangeLineCut {
		return s
	}
	return head(s, exchangeLineCut) + "…"
}

// lineOp pairs a legacy line with a candidate line (-1: none).
type lineOp struct{ l, c int }

// alignLines aligns two line lists by their longest common subsequence;
// lines between matches are paired side by side.
func alignLines(a, b []string) []lineOp {
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []lineOp
	var dl, dc []int // a run of lines that do not match, per side
	flush := func() {
		for k := range max(len(dl), len(dc)) {
			op := lineOp{-1, -1}
			if k < len(dl) {
				op.l = dl[k]
			}
			if k < len(dc) {
				op.c = dc[k]
			}
			ops = append(ops, op)
		}
		dl, dc = dl[:0], dc[:0]
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			flush()
			ops = append(ops, lineOp{i, j})
			i, j = i+1, j+1
		case j == m || i < n && lcs[i+1][j] >= lcs[i][j+1]:
			dl = append(dl, i)
			i++
		default:
			dc = append(dc, j)
			j++
		}
	}
	flush()
	return ops
}

// lineKey is a body line without its indentation and trailing comma.
func lineKey(l string) string { return strings.TrimSuffix(strings.TrimSpace(l), ",") }

func lineSet(lines []string) map[string]bool {
	m := make(map[string]bool, len(lines))
	for _, l := range lines {
		m[lineKey(l)] = true
	}
	return m
}

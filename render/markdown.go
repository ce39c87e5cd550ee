package render

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// md is the one Markdown dialect of every issue: CommonMark plus GFM
// tables, strikethrough and bare-URL links, with the CJK extension so that
// "\ " can stand for a visible space. A soft line break between two East
// Asian characters is dropped (softBreaks), and every other one stays a
// space. Raw HTML in the source is never passed through: goldmark drops it
// unless html.WithUnsafe is given, and it also empties javascript: and
// similar link destinations.
//
// goldmark's own EastAsianLineBreaksCSS3Draft is not used: it also drops
// the break after ASCII punctuation, so a hard-wrapped English paragraph
// read "published in 2024.The next line" in the HTML part.
var md = goldmark.New(
	goldmark.WithExtensions(
		extension.Table,
		extension.Strikethrough,
		extension.Linkify,
		extension.NewCJK(extension.WithEscapedSpace()),
	),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(softBreaks{}, 1000))),
)

// softBreaks removes the soft line breaks that sit between two East Asian
// wide characters, in the tree both the HTML and the text renderings are
// made from, so that they agree: 中文\n中文 → 中文中文, and a break
// with a Latin character or any ASCII punctuation on either side stays a
// space.
type softBreaks struct{}

func (softBreaks) Transform(root *ast.Document, r text.Reader, _ parser.Context) {
	src := r.Source()
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		t, ok := n.(*ast.Text)
		if !entering || !ok || !t.SoftLineBreak() {
			return ast.WalkContinue, nil
		}
		if wideBoundary(textBefore(t, src), nextText(t), src) {
			t.SetSoftLineBreak(false)
		}
		return ast.WalkContinue, nil
	})
}

// textBefore is the text that ends at t's soft break: t's own, or, when t
// is empty (a break right after *emphasis*), the last text of the
// sibling before it.
func textBefore(t *ast.Text, src []byte) string {
	if v := t.Value(src); len(v) > 0 {
		return string(v)
	}
	for n := t.PreviousSibling(); n != nil; n = n.LastChild() {
		switch p := n.(type) {
		case *ast.Text:
			return string(p.Value(src))
		case *ast.String:
			return string(p.Value)
		}
	}
	return ""
}

// nextText is the node whose first character follows t's soft break: its
// next sibling, or the first sibling after the closing of t's inline
// parents (a break at the end of *emphasis*).
func nextText(t ast.Node) ast.Node {
	for n := t; n != nil; n = n.Parent() {
		if next := n.NextSibling(); next != nil {
			return next
		}
		if n.Parent() == nil || n.Parent().Type() == ast.TypeBlock {
			return nil
		}
	}
	return nil
}

// doc is one parsed piece of Markdown (an article body, the masthead, the
// introduction or the colophon), kept so that both the HTML and the text
// renderings come from the same tree.
type doc struct {
	src  []byte
	root ast.Node
	html template.HTML
}

func parseDoc(s string) (*doc, error) {
	d := &doc{src: []byte(s)}
	d.root = md.Parser().Parse(text.NewReader(d.src))
	var b bytes.Buffer
	if err := md.Renderer().Render(&b, d.src, d.root); err != nil {
		return nil, fmt.Errorf("markdown: %w", err)
	}
	d.html = template.HTML(b.String()) // goldmark's safe renderer escapes everything from the source
	return d, nil
}

func (d *doc) empty() bool { return d == nil || d.root.FirstChild() == nil }

// textWriter turns goldmark trees into the plain-text alternative:
// headings, paragraphs wrapped by wrapText, lists, quotes, code kept as
// is, tables as rows of cells, and links as "text [n]" with the URLs
// listed once, numbered, at the end of the message.
type textWriter struct {
	b     strings.Builder
	links []string
	index map[string]int
}

func newTextWriter() *textWriter { return &textWriter{index: map[string]int{}} }

// ref numbers a URL, reusing the number of a URL seen before.
func (w *textWriter) ref(url string) int {
	if n, ok := w.index[url]; ok {
		return n
	}
	w.links = append(w.links, url)
	w.index[url] = len(w.links)
	return len(w.links)
}

// safeURL keeps the links a reader can follow from plain text.
func safeURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:")
}

// block writes the blocks of d, each followed by a blank line, with every
// line prefixed by indent.
func (w *textWriter) doc(d *doc) {
	if d.empty() {
		return
	}
	w.blocks(d.root, d.src, "")
}

func (w *textWriter) blocks(parent ast.Node, src []byte, indent string) {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		w.block(n, src, indent)
	}
}

func (w *textWriter) para(s, first, rest string) {
	for i, line := range wrapText(s, width-utf8.RuneCountInString(first)) {
		if i == 0 {
			w.b.WriteString(first)
		} else {
			w.b.WriteString(rest)
		}
		w.b.WriteString(line)
		w.b.WriteByte('\n')
	}
}

func (w *textWriter) block(n ast.Node, src []byte, indent string) {
	switch n := n.(type) {
	case *ast.Heading:
		t := w.inline(n, src)
		w.b.WriteString(indent)
		w.b.WriteString(t)
		w.b.WriteByte('\n')
		w.b.WriteString(indent)
		c := "-"
		if n.Level <= 2 {
			c = "="
		}
		w.b.WriteString(strings.Repeat(c, min(textWidth(t), width-len(indent))))
		w.b.WriteString("\n\n")
	case *ast.Paragraph, *ast.TextBlock:
		w.para(w.inline(n, src), indent, indent)
		if _, ok := n.(*ast.Paragraph); ok || n.NextSibling() != nil {
			w.b.WriteByte('\n')
		}
	case *ast.List:
		num := n.Start
		for it := n.FirstChild(); it != nil; it = it.NextSibling() {
			marker := "- "
			if n.IsOrdered() {
				marker = strconv.Itoa(num) + ". "
				num++
			}
			w.item(it, src, indent, marker)
		}
		w.b.WriteByte('\n')
	case *ast.Blockquote:
		w.blocks(n, src, indent+"> ")
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			w.b.WriteString(indent + "    ")
			w.b.WriteString(strings.TrimRight(string(seg.Value(src)), "\r\n"))
			w.b.WriteByte('\n')
		}
		w.b.WriteByte('\n')
	case *ast.ThematicBreak:
		w.b.WriteString(indent + "* * *\n\n")
	case *east.Table:
		for row := n.FirstChild(); row != nil; row = row.NextSibling() {
			var cells []string
			for c := row.FirstChild(); c != nil; c = c.NextSibling() {
				cells = append(cells, w.inline(c, src))
			}
			w.b.WriteString(indent + "| " + strings.Join(cells, " | ") + " |\n")
		}
		w.b.WriteByte('\n')
	case *ast.HTMLBlock:
		// Raw HTML is not part of the message (see md): skip it here too.
	default:
		if n.Type() == ast.TypeBlock {
			w.blocks(n, src, indent)
		}
	}
}

// item writes one list item: its first paragraph after the marker, the
// rest indented under it.
func (w *textWriter) item(it ast.Node, src []byte, indent, marker string) {
	pad := indent + strings.Repeat(" ", len(marker))
	first := true
	for c := it.FirstChild(); c != nil; c = c.NextSibling() {
		switch c.(type) {
		case *ast.Paragraph, *ast.TextBlock:
			if first {
				w.para(w.inline(c, src), indent+marker, pad)
			} else {
				w.para(w.inline(c, src), pad, pad)
			}
		default:
			if first {
				w.b.WriteString(indent + marker + "\n")
			}
			w.block(c, src, pad)
		}
		first = false
	}
	if first {
		w.b.WriteString(indent + marker + "\n")
	}
}

// inline is the text of n's inline children, on one line: soft line
// breaks become a space between Latin words and nothing between East
// Asian characters (as the CJK extension does for HTML); hard breaks are
// kept for wrapText to honour.
func (w *textWriter) inline(n ast.Node, src []byte) string {
	var b strings.Builder
	w.inlines(&b, n, src)
	return strings.TrimSpace(b.String())
}

func (w *textWriter) inlines(b *strings.Builder, parent ast.Node, src []byte) {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		switch n := n.(type) {
		case *ast.Text:
			b.Write(n.Value(src))
			switch {
			case n.HardLineBreak():
				b.WriteByte('\n')
			case n.SoftLineBreak():
				// softBreaks already removed the breaks between East
				// Asian characters; the rest read as a space.
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(n.Value)
		case *ast.CodeSpan:
			w.inlines(b, n, src)
		case *ast.Link:
			w.inlines(b, n, src)
			if u := string(n.Destination); safeURL(u) {
				fmt.Fprintf(b, " [%d]", w.ref(u))
			}
		case *ast.AutoLink:
			u := string(n.URL(src))
			b.Write(n.Label(src))
			if safeURL(u) && u != string(n.Label(src)) {
				fmt.Fprintf(b, " [%d]", w.ref(u))
			}
		case *ast.Image:
			alt := w.inline(n, src)
			if u := string(n.Destination); safeURL(u) {
				fmt.Fprintf(b, "[%s] [%d]", alt, w.ref(u))
			} else if alt != "" {
				fmt.Fprintf(b, "[%s]", alt)
			}
		case *ast.RawHTML:
			// dropped, as in HTML
		default:
			w.inlines(b, n, src)
		}
	}
}

// wideBoundary reports whether a soft line break sits between two East
// Asian wide characters (or wide punctuation), where it must vanish.
// Hangul is wide but written with spaces between words, so a break next to
// it stays a space.
func wideBoundary(before string, next ast.Node, src []byte) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	if !isWide(r) || unicode.Is(unicode.Hangul, r) {
		return false
	}
	for n := next; n != nil; n = n.FirstChild() {
		var v []byte
		switch t := n.(type) {
		case *ast.Text:
			v = t.Value(src)
		case *ast.String:
			v = t.Value
		default:
			continue
		}
		r, _ := utf8.DecodeRune(v)
		return isWide(r) && !unicode.Is(unicode.Hangul, r)
	}
	return false
}

// isWide is true for characters that take two columns on a terminal and
// need no spaces between them: Han, kana, Hangul and full-width forms.
func isWide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r), unicode.Is(unicode.Hangul, r):
		return true
	case r >= 0x3000 && r <= 0x303f: // CJK symbols and punctuation
		return true
	case r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6: // full-width forms
		return true
	case r >= 0x2e80 && r <= 0xa4cf:
		return true
	}
	return false
}

// textWidth is the display width of s in terminal columns.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		if isWide(r) || r == '“' || r == '”' || r == '…' || r == '—' {
			n += 2
		} else {
			n++
		}
	}
	return n
}

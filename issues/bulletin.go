package issues

import (
	"regexp"
	"slices"
	"strings"

	"github.com/tidings/tidings"
)

// The bulletin format is a Markdown export of a PDF: a masthead (title,
// edition line, publisher), a table of contents, articles whose headings
// sit at whatever level the converter chose, sub-headings, paragraphs cut
// by page breaks, and a colophon. Nothing in here knows a particular
// bulletin's wording: only the shapes such files share.

var (
	// leaderRe is a table-of-contents entry's dot leader and page number:
	// "……2", "....12", "…… 3", "· · · 4", a tab or a wide gap.
	leaderRe = regexp.MustCompile(`(?:\s*(?:[.．。·・…⋯_\-—–]\s*){2,}|\s*…|\t+|\s{3,})\s*(\d{1,4})\s*$`)
	// tocMarkRe is a bullet symbol a TOC entry may start with.
	tocMarkRe = regexp.MustCompile(`^[★☆●○◆◇■□▪▫•·►▶▸◎◉※✦✧❖➢➤→√✓]\s*`)
	// anchorEntryRe is a contents line that only links to an anchor.
	anchorEntryRe = regexp.MustCompile(`^(?:\d{1,3}[.、．)]\s*)?\[[^\]]+\]\(#[^)]*\)$`)
	// entryOrdinalRe is an entry's own numbering ("1.", "一、", "(3)").
	entryOrdinalRe = regexp.MustCompile(`^(?:\d{1,3}[.、．)]\s*|[（(]\d{1,3}[）)]\s*|[一二三四五六七八九十]+[、．.]\s*|[（(][一二三四五六七八九十]+[）)]\s*)`)
)

// tocLabels are headings or lines that introduce a table of contents.
var tocLabels = []string{"目录", "本期目录", "目次", "本期要目", "要目", "本期导读", "contents", "tableofcontents", "inthisissue", "thisissue", "insidethisissue"}

func isTOCLabel(s string) bool {
	n := string(normalize(plainText(s)))
	return n != "" && slices.Contains(tocLabels, n)
}

type tocEntry struct {
	title string
	line  int
	page  bool // had a leader and page number
}

// tocEntries reads a block as table-of-contents lines. all is false when a
// non-empty line is not an entry; forced (under a "目录" label) accepts
// lines without marker or leader.
func tocEntries(b block, forced bool) (entries []tocEntry, all bool) {
	all = true
	for k, l := range b.lines {
		item := listStripRe.MatchString(l)
		t := strings.TrimSpace(listStripRe.ReplaceAllString(l, ""))
		if t == "" {
			continue
		}
		if isTOCLabel(t) {
			continue
		}
		// A long entry the PDF wrapped: a line with no bullet of its own
		// continues an entry that has no page number yet.
		if n := len(entries); n > 0 && !item && !entries[n-1].page && !tocMarkRe.MatchString(t) && entries[n-1].line == b.line+k-1 {
			joined := joinText(entries[n-1].title, t)
			if m := leaderRe.FindStringIndex(joined); m != nil && m[0] > 0 {
				joined, entries[n-1].page = strings.TrimSpace(joined[:m[0]]), true
			}
			entries[n-1].title = strings.TrimRight(titleText(joined), "…. ")
			entries[n-1].line = b.line + k
			continue
		}
		page := false
		if m := leaderRe.FindStringIndex(t); m != nil && m[0] > 0 {
			t, page = strings.TrimSpace(t[:m[0]]), true
		}
		mark := false
		if m := tocMarkRe.FindStringIndex(t); m != nil {
			t, mark = strings.TrimSpace(t[m[1]:]), true
		}
		if anchorEntryRe.MatchString(t) {
			mark = true // "[Title](#title)": a converter's linked contents
		}
		if !page && !mark && (!forced || runeLen(t) > 80 || endsSentence(t)) {
			all = false
			continue
		}
		t = strings.TrimSpace(entryOrdinalRe.ReplaceAllString(t, ""))
		t = strings.TrimRight(titleText(t), "…. ")
		if t != "" {
			entries = append(entries, tocEntry{title: t, line: b.line + k, page: page})
		}
	}
	return entries, all
}

// pageNumRe is a line holding nothing but a page number ("12", "- 12 -",
// "第 3 页", "Page 3 of 12"): the PDF's running footer.
var pageNumRe = regexp.MustCompile(`(?i)^\s*(?:[-—–]\s*)?\d{1,3}(?:\s*[-—–])?\s*$|^\s*第\s*\d{1,3}\s*页(?:\s*[，,/]?\s*共\s*\d{1,3}\s*页)?\s*$|^\s*page\s+\d{1,3}(?:\s+of\s+\d{1,3})?\s*$`)

// pageNumber reports a block that is a page number left between two
// halves of a page-break split; dropping it lets the halves join.
func pageNumber(b block) bool {
	return (b.kind == kPara || b.kind == kList) && len(b.lines) == 1 && len(b.lines[0]) <= 40 && pageNumRe.MatchString(b.lines[0])
}

type role int

const (
	roleNone role = iota
	roleTitle
	roleTOC
)

func parseBulletin(name string, lines []string, is *tidings.Issue) (*parsed, error) {
	blocks := slices.DeleteFunc(scan(lines, 1), pageNumber)
	if len(blocks) == 0 {
		return nil, perr(name, 1, "no articles found: the file holds only page numbers")
	}
	roles := make([]role, len(blocks))

	// The title is the first heading, when it is a level-1 heading or
	// outranks every other heading.
	ti, minOther := -1, 7
	for i, b := range blocks {
		if b.kind != kHeading {
			continue
		}
		if ti < 0 {
			ti = i
		} else {
			minOther = min(minOther, b.level)
		}
	}
	if ti >= 0 && blocks[ti].level != 1 && blocks[ti].level >= minOther {
		ti = -1
	}
	if ti < 0 {
		return nil, perr(name, blocks[0].line, "no title: begin the file with a \"# Title\" line, or with YAML front matter")
	}
	is.Title = titleText(blocks[ti].text)
	roles[ti] = roleTitle

	// The front region runs from the title to the first heading that is not
	// a "Contents" label (or, in a file without headings, to the first bold
	// line): masthead, table of contents, introduction.
	fe := len(blocks)
	for i := ti + 1; i < len(blocks); i++ {
		if blocks[i].kind == kHeading && !isTOCLabel(blocks[i].text) {
			fe = i
			break
		}
	}
	if fe == len(blocks) {
		for i := ti + 1; i < len(blocks); i++ {
			if boldOnly(blocks[i]) {
				fe = i
				break
			}
		}
	}

	// The table of contents: the first run of blocks in the front region
	// made of entries ("★ title……2", "1. title .... 3") and "目录" labels.
	// Articles are looked for after it.
	var entries []tocEntry
	labelled, firstTOC, lastTOC := false, -1, -1
	for i := ti + 1; i < fe; i++ {
		b := blocks[i]
		isTOC := false
		switch {
		case b.kind == kHeading || (b.kind == kPara && len(b.lines) == 1 && isTOCLabel(b.lines[0])):
			labelled, isTOC = true, true
		case b.kind == kPara || b.kind == kList:
			es, all := tocEntries(b, labelled && firstTOC >= 0 && lastTOC == i-1)
			if all && len(es) > 0 {
				isTOC = true
				entries = append(entries, es...)
			}
		}
		if isTOC {
			roles[i] = roleTOC
			if firstTOC < 0 {
				firstTOC = i
			}
			lastTOC = i
		} else if firstTOC >= 0 {
			break
		}
	}
	hasPages := slices.ContainsFunc(entries, func(e tocEntry) bool { return e.page })
	if len(entries) == 0 || (!hasPages && len(entries) < 2 && !labelled) {
		entries, firstTOC = nil, -1
		for i := range roles {
			if roles[i] == roleTOC {
				roles[i] = roleNone
			}
		}
	} else {
		fe = lastTOC + 1
	}
	if hasPages {
		// Entries without a page number are section labels grouping the
		// articles, not articles.
		entries = slices.DeleteFunc(entries, func(e tocEntry) bool { return !e.page })
	}

	// Masthead and introduction: around the table of contents, or, without
	// one, the short unpunctuated lines under the title and then the rest.
	var masthead, intro []block
	inMasthead := true
	for i := 0; i < fe; i++ {
		if roles[i] == roleTitle || roles[i] == roleTOC {
			continue
		}
		b := blocks[i]
		if firstTOC >= 0 {
			inMasthead = i < firstTOC
		} else if inMasthead && !(b.kind == kPara && runeLen(b.markdown()) <= 80 && !endsSentence(b.markdown())) {
			inMasthead = false
		}
		if inMasthead {
			masthead = append(masthead, b)
		} else {
			intro = append(intro, b)
		}
	}
	is.Masthead = render(masthead)

	// The colophon: short credit and contact lines at the very end.
	end := len(blocks)
	var mastLines []string
	for _, b := range masthead {
		mastLines = append(mastLines, b.lines...)
	}
	for end > fe && colophonBlock(blocks[end-1], mastLines) {
		end--
	}
	if end < len(blocks) && (blocks[end-1].kind == kHeading || boldOnly(blocks[end-1])) {
		// Short label lines under a heading are that section's content
		// (a "联系方式" article), not a colophon.
		end = len(blocks)
	}
	if end < len(blocks) && end > fe && blocks[end-1].kind == kBreak {
		end--
	} else if end == len(blocks) {
		// Everything after a final thematic break below the last heading,
		// when it is all short lines, is the colophon too.
		for i := len(blocks) - 1; i > fe && blocks[i].kind != kHeading; i-- {
			if blocks[i].kind == kBreak {
				if allShort(blocks[i+1:]) && i+1 < len(blocks) {
					end = i
				}
				break
			}
		}
	}
	var footer []block
	for i := end; i < len(blocks); i++ {
		if blocks[i].kind != kBreak {
			footer = append(footer, blocks[i])
		}
	}
	is.Footer = render(footer)

	starts, err := articleStarts(name, blocks, fe, end, entries)
	if err != nil {
		return nil, err
	}
	if len(starts) == 0 {
		return nil, perr(name, blocks[ti].line, "no articles found: no table of contents entries and no headings below the title")
	}
	intro = append(intro, sectionLabels(blocks[fe:starts[0]])...)
	is.Intro = render(joinPageBreaks(intro))

	header := runningHeaders(is.Title, mastLines)
	p := &parsed{issue: is}
	for n, s := range starts {
		body := blocks[s+1 : end]
		if n+1 < len(starts) {
			body = sectionLabels(blocks[s+1 : starts[n+1]])
		}
		body = slices.DeleteFunc(slices.Clone(body), header)
		a, err := makeArticle(name, blocks[s], body, true)
		if err != nil {
			return nil, err
		}
		is.Articles = append(is.Articles, a)
		p.lines = append(p.lines, blocks[s].line)
	}

	// The edition number and date, from the masthead lines and the title.
	var head []string
	head = append(head, mastLines...)
	head = append(head, is.Title)
	if len(intro) > 0 {
		head = append(head, intro[0].lines...)
	}
	is.Number = findNumber(head)
	if is.Number <= 0 {
		return nil, perr(name, blocks[ti].line, "no issue number found: write it under the title (\"第7期\", \"No. 7\", \"Issue 7\") or use front matter with number:")
	}
	is.Date = findDate(head)
	return p, nil
}

// articleStarts finds the blocks that begin articles in blocks[fe:end]:
// the headings that match the table of contents, else the headings that
// carry a {topics=…} attribute and their level, else the most frequent
// heading level (with any higher heading that has text of its own).
func articleStarts(name string, blocks []block, fe, end int, entries []tocEntry) ([]int, error) {
	var attributed []int
	for i := fe; i < end; i++ {
		if b := blocks[i]; b.kind == kHeading {
			if _, _, ok, _ := headingAttrs(name, b.line, b.text); ok {
				attributed = append(attributed, i)
			}
		}
	}
	if len(entries) > 0 {
		starts, err := matchTOC(name, blocks, fe, end, entries)
		if err != nil {
			return nil, err
		}
		for _, i := range attributed {
			if !slices.Contains(starts, i) {
				starts = append(starts, i)
			}
		}
		slices.Sort(starts)
		return starts, nil
	}
	count := map[int]int{}
	if len(attributed) > 0 {
		for _, i := range attributed {
			count[blocks[i].level]++
		}
	} else {
		for i := fe; i < end; i++ {
			if blocks[i].kind == kHeading && !isTOCLabel(blocks[i].text) {
				count[blocks[i].level]++
			}
		}
	}
	level, best := 0, 0
	for lv := 1; lv <= 6; lv++ {
		if count[lv] > best {
			level, best = lv, count[lv]
		}
	}
	var starts []int
	if best == 0 {
		// No headings at all: the converter kept titles only as bold lines.
		for i := fe; i < end; i++ {
			if boldOnly(blocks[i]) {
				starts = append(starts, i)
			}
		}
		return starts, nil
	}
	for i := fe; i < end; i++ {
		b := blocks[i]
		if b.kind != kHeading || isTOCLabel(b.text) {
			continue
		}
		// A heading that outranks the article level and has text of its
		// own is an article too (the sample without its contents: one
		// "##" article, then "###" ones); one followed at once by another
		// heading labels a section and is dropped (sectionLabels).
		ownText := i+1 < end && blocks[i+1].kind != kHeading
		if b.level == level || (b.level < level && len(attributed) == 0 && ownText) {
			starts = append(starts, i)
		}
	}
	return starts, nil
}

// Minimum similarity for an entry to match a heading, and the stricter one
// for a plain short line standing in for a heading the converter lost.
const (
	matchHeading = 0.5
	matchLine    = 0.75
)

// matchTOC aligns table-of-contents entries with candidate headings, in
// order, maximising the total similarity (a small dynamic programme: the
// same alignment as a longest common subsequence, weighted). Every entry
// must find its heading; one that does not is an error at its line, since
// guessing would silently merge two articles.
func matchTOC(name string, blocks []block, fe, end int, entries []tocEntry) ([]int, error) {
	type cand struct {
		idx   int
		title string
		min   float64
		w     float64
	}
	var cands []cand
	for i := fe; i < end; i++ {
		b := blocks[i]
		switch {
		case b.kind == kHeading && !isTOCLabel(b.text):
			t, _, _, _ := headingAttrs(name, b.line, b.text)
			cands = append(cands, cand{i, titleText(t), matchHeading, 1})
		case boldOnly(b):
			cands = append(cands, cand{i, titleText(b.lines[0]), matchHeading, 0.98})
		case b.kind == kPara && len(b.lines) == 1 && runeLen(b.lines[0]) <= 60 && !endsSentence(b.lines[0]):
			cands = append(cands, cand{i, titleText(b.lines[0]), matchLine, 0.95})
		}
	}
	m, n := len(entries), len(cands)
	score := make([][]float64, m)
	for e := range entries {
		score[e] = make([]float64, n)
		for c := range cands {
			if s := similarity(entries[e].title, cands[c].title); s >= cands[c].min {
				score[e][c] = s * cands[c].w
			}
		}
	}
	dp := make([][]float64, m+1)
	for i := range dp {
		dp[i] = make([]float64, n+1)
	}
	for i := 1; i <= m; i++ {
		for j := 1; j <= n; j++ {
			best := max(dp[i-1][j], dp[i][j-1])
			if s := score[i-1][j-1]; s > 0 && dp[i-1][j-1]+s > best {
				best = dp[i-1][j-1] + s
			}
			dp[i][j] = best
		}
	}
	matched := make([]int, m)
	for i := range matched {
		matched[i] = -1
	}
	for i, j := m, n; i > 0 && j > 0; {
		switch {
		case score[i-1][j-1] > 0 && dp[i][j] == dp[i-1][j-1]+score[i-1][j-1]:
			matched[i-1] = cands[j-1].idx
			i, j = i-1, j-1
		case dp[i][j] == dp[i-1][j]:
			i--
		default:
			j--
		}
	}
	var starts []int
	for e, idx := range matched {
		if idx < 0 {
			return nil, perr(name, entries[e].line, "table of contents entry %q matches no heading below it", entries[e].title)
		}
		starts = append(starts, idx)
	}
	return starts, nil
}

// endsSentence: the text ends with a full stop, question or exclamation.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, trailingMarkup)
	for _, suf := range []string{"。", "！", "？", ".", "!", "?", "…", "。”", ".”", "。」", "！”", "？”"} {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

var (
	labelRe   = regexp.MustCompile(`^([^\s：:]{1,12}(?:\s[^\s：:]{1,12})?)\s*[：:]\s*\S`)
	creditRe  = regexp.MustCompile(`(?i)(?:编辑|主编|编印|主办|承办|协办|编制|印发|出版|发行|整理|编)$|^(?:published|edited|compiled|produced|prepared|issued)\s+by\b|©|\(c\)\s*\d{4}|copyright|all rights reserved|版权所有|内部资料|免费交流`)
	contactRe = regexp.MustCompile(`(?i)^(?:\S+@\S+\.\S+|https?://\S+|www\.\S+|[+\d][\d\s\-()]{6,})$`)
	// notColophon are labels that end articles, not issues.
	notColophon = []string{"来源", "出处", "作者", "文", "撰稿", "供稿", "记者", "图", "摄", "source", "sources", "author", "via", "photo", "by", "note", "注"}
)

// colophonLine: a short credit ("…编辑", "© 2025 …"), label ("编辑：李涛",
// "Phone: …"), contact, or a repeat of a masthead line (the publisher).
func colophonLine(l string, masthead []string) bool {
	t := plainText(strings.TrimSpace(l))
	if r := []rune(t); len(r) > 2 && strings.ContainsRune("（(", r[0]) && strings.ContainsRune("）)", r[len(r)-1]) {
		t = strings.TrimSpace(string(r[1 : len(r)-1]))
	}
	if t == "" || runeLen(t) > 120 {
		return false
	}
	if runeLen(t) <= 60 && (creditRe.MatchString(t) || contactRe.MatchString(t)) {
		return true
	}
	if m := labelRe.FindStringSubmatch(t); m != nil && !endsSentence(t) && !articleLabel(m[1]) {
		return true
	}
	for _, ml := range masthead {
		if runeLen(t) <= 60 && similarity(t, ml) >= 0.75 {
			return true
		}
	}
	return false
}

// articleLabel: "来源", "作者单位", "数据来源", "Source" label a line of an
// article. One-character labels ("文", "图") must match whole; longer ones
// also begin or end longer labels ("作者单位", "信息来源", "Data source").
func articleLabel(label string) bool {
	label = strings.ToLower(strings.TrimSpace(label))
	for _, w := range notColophon {
		if label == w || (runeLen(w) > 1 && (strings.HasPrefix(label, w) || strings.HasSuffix(label, w))) {
			return true
		}
	}
	return false
}

func colophonBlock(b block, masthead []string) bool {
	if (b.kind != kPara && b.kind != kList) || len(b.lines) > 6 {
		return false
	}
	for _, l := range b.lines {
		if !colophonLine(listStripRe.ReplaceAllString(l, ""), masthead) {
			return false
		}
	}
	return true
}

// allShort: every block is a paragraph of a few short lines.
func allShort(bs []block) bool {
	for _, b := range bs {
		if b.kind != kPara || len(b.lines) > 4 {
			return false
		}
		for _, l := range b.lines {
			if runeLen(strings.TrimSpace(l)) > 80 {
				return false
			}
		}
	}
	return true
}

// sectionLabels drops the headings that end the blocks before an article:
// they head a section of the bulletin ("## Energy" above the energy
// articles), not a part of the previous article, and a digest tailored to
// a reader's topics has no sections.
func sectionLabels(bs []block) []block {
	for len(bs) > 0 && bs[len(bs)-1].kind == kHeading {
		bs = bs[:len(bs)-1]
	}
	return bs
}

// runningHeaders recognises the PDF's page header left between two halves
// of a page-break split: a line that is the title, a masthead line, or
// both ("科技情报参考 2024年第7期").
func runningHeaders(title string, masthead []string) func(block) bool {
	known := map[string]bool{string(normalize(title)): true}
	for _, m := range masthead {
		n := string(normalize(m))
		known[n] = true
		known[string(normalize(title))+n] = true
		known[n+string(normalize(title))] = true
	}
	delete(known, "")
	return func(b block) bool {
		return b.kind == kPara && len(b.lines) == 1 && runeLen(b.lines[0]) <= 80 && known[string(normalize(plainText(b.lines[0])))]
	}
}

// Package issues imports and stores issues: numbered editions of a list,
// each a set of articles tagged with topics.
//
// Parse reads two kinds of Markdown file. The explicit format starts with
// YAML front matter (title, number, date, optional subject, preheader,
// masthead, footer) and has one "## " heading per article, with topics in
// an attribute: "## Title {topics=biomed,finance}". The bulletin format is a
// publisher's file as a PDF converter left it: a "# Title" masthead with the
// edition number ("2024年第7期", "总第45期", "No. 7", "Issue 7"), a table of
// contents whose (possibly shortened) entries are matched to headings by
// character-bigram similarity, articles at mixed heading levels or as bold
// lines, paragraphs cut by page breaks (joined back, with page numbers and
// running headers between the halves dropped; lists, headings, captions,
// lines ending in a URL and short lines of their own such as a signature
// or a date are never joined), and a colophon at the end (kept as the
// issue's footer; source lines such as "数据来源：…" stay in their article).
// Without a table of contents, headings with topic attributes set the
// article level; without those either, the most frequent heading level
// does, together with any higher heading that has text of its own.
//
// Store keeps issues in SQLite: Import parses, checks topic slugs against
// the list, tags the other articles by topic keywords (MatchTopics) and
// writes everything in one transaction. Topics set by hand (Tag) win over
// attributes and keywords; Retag re-applies keywords to the rest.
package issues

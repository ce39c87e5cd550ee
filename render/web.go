package render

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/templates"
)

// webFile is the fragment the archive page embeds: the whole issue,
// every article, with no reader-specific part.
const webFile = "email/issue-web.html"

// WebIssue renders the full issue (masthead, contents, every article,
// colophon) as an HTML fragment for the archive page. It uses classes,
// not inline styles: the page's own stylesheet dresses it.
func (r *Renderer) WebIssue(list *tidings.List, topics []tidings.Topic, issue *tidings.Issue) (htmltemplate.HTML, error) {
	e, err := r.Prepare(list, topics, issue)
	if err != nil {
		return "", err
	}
	fsys := templates.Overlay(list.TemplateDir)
	t, err := htmltemplate.New("issue-web.html").ParseFS(fsys, webFile)
	if err != nil {
		return "", fmt.Errorf("render: list %s: templates: %w", list.Slug, err)
	}
	v := e.baseView(e.arts)
	v.Masthead = e.mast.html
	if !e.intro.empty() {
		v.Intro = e.intro.html
	}
	if !e.footer.empty() {
		v.Footer = e.footer.html
	}
	for i, a := range e.arts {
		v.Articles[i].Body = a.body.html
	}
	var out bytes.Buffer
	if err := t.ExecuteTemplate(&out, "issue-web.html", v); err != nil {
		return "", fmt.Errorf("render: list %s: %s: %w", list.Slug, webFile, err)
	}
	return htmltemplate.HTML(out.String()), nil
}

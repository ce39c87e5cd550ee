package render

import (
	"fmt"

	"github.com/tidings/tidings"
)

// CheckTemplates renders a small sample issue with the list's templates
// (its TemplateDir over the built-in ones), both mail parts and the web
// page, so a broken override — a template syntax error, a strings file
// that does not parse, a newsletter without the unsubscribe link — is
// refused when an admin configures it, not when an issue is being sent.
func (r *Renderer) CheckTemplates(list *tidings.List) error {
	issue := &tidings.Issue{ID: 1, ListID: list.ID, Number: 1, Title: "Template check",
		Masthead: "Masthead", Intro: "Introduction.", Footer: "Colophon.",
		Articles: []tidings.Article{{Position: 1, Title: "Article", Body: "A paragraph with a [link](https://example.org/).\n\n## Section\n\n- item"}}}
	e, err := r.Prepare(list, nil, issue)
	if err != nil {
		return fmt.Errorf("templates %s: %w", list.TemplateDir, err)
	}
	rc := tidings.Recipient{SubscriberID: 1, Email: "reader@example.org", Name: "Reader", AllTopics: true}
	if _, err := e.HTML(rc); err != nil {
		return fmt.Errorf("templates %s: %w", list.TemplateDir, err)
	}
	if _, err := e.Text(rc); err != nil {
		return fmt.Errorf("templates %s: %w", list.TemplateDir, err)
	}
	if _, err := r.WebIssue(list, nil, issue); err != nil {
		return fmt.Errorf("templates %s: %w", list.TemplateDir, err)
	}
	return nil
}

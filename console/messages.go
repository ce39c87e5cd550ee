package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// t translates key into r's language.
func (h *handler) t(r *http.Request, key string, args ...any) string {
	return catalogs[h.language(r)].text(key, args...)
}

// formError is a form's error in r's language.
func (h *handler) formError(r *http.Request, err error) string {
	var fe *form.Error
	if errors.As(err, &fe) {
		if fe.Arg != "" {
			return h.t(r, fe.Key, fe.Arg)
		}
		return h.t(r, fe.Key)
	}
	var oe *ops.FieldError
	if errors.As(err, &oe) {
		if zh := h.opsProblem(r, oe.Problem); zh != "" {
			return zh
		}
		// ops words its problems in English; the field at least is named
		// in the page's language.
		return h.t(r, "field.invalid", h.fieldName(r, oe.Field)) + oe.Problem
	}
	return err.Error()
}

// fieldName is an input's name as the page calls it.
func (h *handler) fieldName(r *http.Request, field string) string {
	if c := catalogs[h.language(r)]; c.has("field." + field) {
		return c.text("field." + field)
	}
	return field
}

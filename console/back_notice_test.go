package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestBackPutsTheNoticeBeforeTheFragment: the notice joins an existing
// query with & and goes before a #fragment, or the page never sees it.
func TestBackPutsTheNoticeBeforeTheFragment(t *testing.T) {
	for _, c := range []struct{ to, done, want string }{
		{"/admin/", "password", "/admin/?done=password"},
		{"/admin/issues/3#schedule", "ready", "/admin/issues/3?done=ready#schedule"},
		{"/admin/subscribers?list=alpha", "saved", "/admin/subscribers?list=alpha&done=saved"},
		{"/admin/subscribers?list=alpha#row-2", "saved", "/admin/subscribers?list=alpha&done=saved#row-2"},
		{"/admin/lists", "", "/admin/lists"},
	} {
		w := httptest.NewRecorder()
		back(w, httptest.NewRequest(http.MethodPost, "/admin/x", nil), c.to, c.done)
		if got := w.Header().Get("Location"); got != c.want || w.Code != http.StatusSeeOther {
			t.Errorf("back(%q, %q) = %d %q, want 303 %q", c.to, c.done, w.Code, got, c.want)
		}
	}
}

package console

import "net/http"

// access says who may reach a route; ops decides the rest (roles, lists).
type access int

const (
	signedInOnly access = iota // everything but signing in
	public                     // sign-in, one-time links, language
)

// route is one console action. Add a page by adding a line here (and, for
// a page of its own, a line in nav or issueTabs).
type route struct {
	pattern string
	handle  func(h *handler, w http.ResponseWriter, r *http.Request)
	access  access
}

var routes = []route{
	{"GET /admin/signin", (*handler).signInShow, public},
	{"POST /admin/signin", (*handler).signInSubmit, public},
	{"GET /admin/link/{value}", (*handler).linkShow, public},
	{"POST /admin/link/{value}", (*handler).linkSubmit, public},
	{"POST /admin/lang", (*handler).languageUpdate, public},
	{"POST /admin/signout", (*handler).signOut, signedInOnly},
	{"GET /admin/password", (*handler).passwordShow, signedInOnly},
	{"POST /admin/password", (*handler).passwordUpdate, signedInOnly},

	{"GET /admin/{$}", (*handler).homeShow, signedInOnly},

	{"GET /admin/lists/{list}/issues", (*handler).issueList, signedInOnly},
	{"GET /admin/lists/{list}/import", (*handler).issueImportShow, signedInOnly},
	{"POST /admin/lists/{list}/import", (*handler).issueImportSubmit, signedInOnly},
	{"GET /admin/issues/{id}", (*handler).issueShow, signedInOnly},
	{"POST /admin/issues/{id}/articles/{pos}", (*handler).articleUpdate, signedInOnly},
	{"POST /admin/issues/{id}/retag", (*handler).issueRetag, signedInOnly},
	{"POST /admin/issues/{id}/ready", (*handler).issueReady, signedInOnly},
	{"GET /admin/issues/{id}/audience.json", (*handler).audienceJSON, signedInOnly},
	{"GET /admin/issues/{id}/preview", (*handler).previewShow, signedInOnly},
	{"GET /admin/issues/{id}/preview/frame", (*handler).previewFrame, signedInOnly},
	{"POST /admin/issues/{id}/test", (*handler).testSend, signedInOnly},
	{"POST /admin/issues/{id}/schedule", (*handler).issueSchedule, signedInOnly},
	{"GET /admin/issues/{id}/send", (*handler).sendConfirm, signedInOnly},
	{"POST /admin/issues/{id}/send", (*handler).sendNow, signedInOnly},
	{"GET /admin/issues/{id}/progress", (*handler).progressShow, signedInOnly},
	{"GET /admin/issues/{id}/progress.json", (*handler).progressJSON, signedInOnly},
	{"GET /admin/issues/{id}/report", (*handler).reportShow, signedInOnly},
	{"GET /admin/issues/{id}/report.csv", (*handler).reportCSV, signedInOnly},
	{"POST /admin/issues/{id}/pause", (*handler).sendPause, signedInOnly},
	{"POST /admin/issues/{id}/resume", (*handler).sendResume, signedInOnly},
	{"POST /admin/issues/{id}/cancel", (*handler).sendCancel, signedInOnly},

	{"GET /admin/lists/{list}/subscribers", (*handler).subscriberList, signedInOnly},
	{"POST /admin/lists/{list}/subscribers", (*handler).subscriberAdd, signedInOnly},
	{"GET /admin/lists/{list}/subscribers.json", (*handler).subscriberSuggest, signedInOnly},
	{"GET /admin/lists/{list}/subscribers/import", (*handler).subscriberImportShow, signedInOnly},
	{"POST /admin/lists/{list}/subscribers/import", (*handler).subscriberImportSubmit, signedInOnly},
	{"POST /admin/lists/{list}/subscribers/export", (*handler).subscriberExport, signedInOnly},
	{"GET /admin/subscribers/{email}", (*handler).subscriberShow, signedInOnly},
	{"POST /admin/subscribers/{email}/topics", (*handler).subscriberTopics, signedInOnly},
	{"POST /admin/subscribers/{email}/status", (*handler).subscriberStatus, signedInOnly},
	{"POST /admin/subscribers/{email}/erase", (*handler).subscriberErase, signedInOnly},
	{"GET /admin/jobs/{id}", (*handler).jobShow, signedInOnly},
	{"GET /admin/jobs/{id}/progress.json", (*handler).jobJSON, signedInOnly},
	{"GET /admin/jobs/{id}/download", (*handler).jobDownload, signedInOnly},

	{"GET /admin/lists/{list}/topics", (*handler).topicList, signedInOnly},
	{"POST /admin/lists/{list}/topics", (*handler).topicAdd, signedInOnly},
	{"POST /admin/lists/{list}/topics/{slug}", (*handler).topicUpdate, signedInOnly},
	{"POST /admin/lists/{list}/topics/{slug}/delete", (*handler).topicDelete, signedInOnly},

	{"GET /admin/lists", (*handler).listList, signedInOnly},
	{"POST /admin/lists", (*handler).listAdd, signedInOnly},
	{"GET /admin/lists/{list}/settings", (*handler).listEdit, signedInOnly},
	{"POST /admin/lists/{list}/settings", (*handler).listUpdate, signedInOnly},
	{"POST /admin/lists/{list}/delete", (*handler).listDelete, signedInOnly},
	{"GET /admin/lists/{list}/bounces", (*handler).bounceList, signedInOnly},

	{"GET /admin/schedules", (*handler).scheduleList, signedInOnly},
	{"POST /admin/schedules", (*handler).scheduleAdd, signedInOnly},
	{"POST /admin/schedules/{id}/delete", (*handler).scheduleDelete, signedInOnly},

	{"GET /admin/users", (*handler).userList, signedInOnly},
	{"POST /admin/users", (*handler).userAdd, signedInOnly},
	{"POST /admin/users/{email}/delete", (*handler).userDelete, signedInOnly},
	{"POST /admin/users/{email}/link", (*handler).userLink, signedInOnly},
	{"POST /admin/users/{email}/access", (*handler).userAccess, signedInOnly},
	{"GET /admin/tokens", (*handler).tokenList, signedInOnly},
	{"POST /admin/tokens", (*handler).tokenAdd, signedInOnly},
	{"POST /admin/tokens/{name}/delete", (*handler).tokenDelete, signedInOnly},
	{"GET /admin/audit", (*handler).auditList, signedInOnly},
}

// navEntry is one item of the main navigation. href gets the current
// list's slug ("" when the user has no list yet; then list pages hide).
type navEntry struct {
	key     string // i18n key of the label
	href    func(list string) string
	perList bool // needs a current list
	admin   bool // shown to admins only (ops still checks)
}

var nav = []navEntry{
	{"nav.home", func(string) string { return "/admin/" }, false, false},
	{"nav.issues", func(l string) string { return "/admin/lists/" + l + "/issues" }, true, false},
	{"nav.subscribers", func(l string) string { return "/admin/lists/" + l + "/subscribers" }, true, false},
	{"nav.topics", func(l string) string { return "/admin/lists/" + l + "/topics" }, true, false},
	{"nav.schedules", func(string) string { return "/admin/schedules" }, false, false},
	{"nav.bounces", func(l string) string { return "/admin/lists/" + l + "/bounces" }, true, false},
	{"nav.lists", func(string) string { return "/admin/lists" }, false, true},
	{"nav.users", func(string) string { return "/admin/users" }, false, true},
	{"nav.tokens", func(string) string { return "/admin/tokens" }, false, true},
	{"nav.audit", func(string) string { return "/admin/audit" }, false, true},
}

// issueTab is a link in an issue's own navigation (issue page, preview,
// progress; the report page adds itself here).
type issueTab struct {
	key  string
	href func(id int64) string
}

var issueTabs = []issueTab{
	{"tab.issue", func(id int64) string { return "/admin/issues/" + itoa(id) }},
	{"tab.preview", func(id int64) string { return "/admin/issues/" + itoa(id) + "/preview" }},
	{"tab.progress", func(id int64) string { return "/admin/issues/" + itoa(id) + "/progress" }},
	{"tab.report", func(id int64) string { return "/admin/issues/" + itoa(id) + "/report" }},
}

package demo

import (
	"bytes"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings/smtpsink"
)

// Outbox is the routes of the outbox pages over a capturing SMTP server's
// messages.
func Outbox(messages func() []smtpsink.Message) func(mux *http.ServeMux) {
	return outboxPages{messages: messages}.routes
}

// outboxPages shows the messages a capturing SMTP server received, for
// `tidings demo`: GET /outbox lists them, /outbox/{n} shows one with its
// headers and text part and its HTML part in a sandboxed frame,
// /outbox/{n}/html is that HTML alone under a CSP that allows no script,
// no network and no forms, and /outbox/{n}/raw is the message as sent.
type outboxPages struct {
	messages func() []smtpsink.Message
}

func (o outboxPages) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /outbox", o.index)
	mux.HandleFunc("GET /outbox/{n}", o.show)
	mux.HandleFunc("GET /outbox/{n}/html", o.html)
	mux.HandleFunc("GET /outbox/{n}/raw", o.raw)
}

type outboxItem struct {
	Seq      int
	To       string
	Subject  string
	Received string
	Size     int
}

var outboxTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tidings demo outbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}pre{white-space:pre-wrap;background:#f8f8f8;padding:1rem;border:1px solid #eee}
iframe{width:100%;height:80vh;border:1px solid #ccc}.muted{color:#777}</style></head><body>
{{define "list"}}<h1>Outbox <span class="muted">— {{len .}} captured message(s)</span></h1>
<p class="muted">Mail the demo "sent": it never left this machine. Reload to see new messages.</p>
<table><tr><th>#</th><th>To</th><th>Subject</th><th>Received</th><th>Bytes</th></tr>
{{range .}}<tr><td><a href="/outbox/{{.Seq}}">{{.Seq}}</a></td><td>{{.To}}</td><td><a href="/outbox/{{.Seq}}">{{.Subject}}</a></td><td>{{.Received}}</td><td>{{.Size}}</td></tr>
{{else}}<tr><td colspan="5">Nothing yet: the scheduled send has not run.</td></tr>{{end}}</table>{{end}}
{{define "one"}}<p><a href="/outbox">← outbox</a> · <a href="/outbox/{{.Seq}}/raw">raw message</a> · <a href="/outbox/{{.Seq}}/html">HTML alone</a></p>
<h1>{{.Subject}}</h1><p>Envelope: from <code>{{.From}}</code> to <code>{{.To}}</code></p>
<h2>Headers</h2><table>{{range .Headers}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
<h2>HTML part</h2>{{if .HasHTML}}<iframe sandbox="" src="/outbox/{{.Seq}}/html" title="HTML part"></iframe>{{else}}<p class="muted">none</p>{{end}}
<h2>Text part</h2><pre>{{.Text}}</pre>{{end}}
{{if .List}}{{template "list" .Items}}{{else}}{{template "one" .One}}{{end}}
</body></html>`))

func (o outboxPages) find(w http.ResponseWriter, r *http.Request) (*smtpsink.Message, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err == nil {
		for _, m := range o.messages() {
			if m.Seq == n {
				return &m, true
			}
		}
	}
	http.Error(w, "no such message", http.StatusNotFound)
	return nil, false
}

func secureHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

func (o outboxPages) index(w http.ResponseWriter, r *http.Request) {
	var items []outboxItem
	for _, m := range o.messages() {
		it := outboxItem{Seq: m.Seq, To: firstRcpt(&m), Received: m.Received.Format("15:04:05"), Size: len(m.Data)}
		if env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data)); err == nil {
			it.Subject = env.GetHeader("Subject")
		}
		items = append(items, it)
	}
	secureHeaders(w)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	outboxTmpl.Execute(w, map[string]any{"List": true, "Items": items})
}

func (o outboxPages) show(w http.ResponseWriter, r *http.Request) {
	m, ok := o.find(w, r)
	if !ok {
		return
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
	if err != nil {
		http.Error(w, "unreadable message: "+err.Error(), http.StatusInternalServerError)
		return
	}
	secureHeaders(w)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	outboxTmpl.Execute(w, map[string]any{"List": false, "One": map[string]any{
		"Seq": m.Seq, "Subject": env.GetHeader("Subject"), "From": m.From, "To": firstRcpt(m),
		"Headers": orderedHeaders(m.Data), "HasHTML": env.HTML != "", "Text": env.Text,
	}})
}

func (o outboxPages) html(w http.ResponseWriter, r *http.Request) {
	m, ok := o.find(w, r)
	if !ok {
		return
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
	if err != nil || env.HTML == "" {
		http.Error(w, "no HTML part", http.StatusNotFound)
		return
	}
	secureHeaders(w)
	// The mail's own HTML: no script, no forms, no network but images.
	w.Header().Set("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src data: https: http:; style-src 'unsafe-inline'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(env.HTML))
}

func (o outboxPages) raw(w http.ResponseWriter, r *http.Request) {
	m, ok := o.find(w, r)
	if !ok {
		return
	}
	secureHeaders(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(m.Data)
}

func firstRcpt(m *smtpsink.Message) string {
	if len(m.To) == 0 {
		return ""
	}
	return m.To[0]
}

// orderedHeaders is the header block of a raw message, field by field in
// the order written (enmime keeps them in a map, which would shuffle them
// at each reload), unfolded and with encoded words decoded.
func orderedHeaders(raw []byte) [][2]string {
	block := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		block = raw[:i]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		block = raw[:i]
	}
	var dec mime.WordDecoder
	var out [][2]string
	for _, line := range strings.Split(strings.ReplaceAll(string(block), "\r\n", "\n"), "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	for i := range out {
		if d, err := dec.DecodeHeader(out[i][1]); err == nil {
			out[i][1] = d
		}
	}
	return out
}

// tidings console: a little life on top of pages that work without it.
// - article topic boxes save as they are clicked and the audience figures
//   update from the answer;
// - the preview width buttons switch without a reload;
// - send progress and job pages poll their JSON until the work is done.
// Text only goes in through textContent: never innerHTML.
(function () {
  "use strict";

  function setText(id, v) {
    var el = document.getElementById(id);
    if (el) el.textContent = v;
  }
  function fmt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  // Live audience after a topic change.
  function showAudience(a) {
    setText("aud-recipients", fmt(a.recipients));
    setText("aud-skipped", fmt(a.skipped));
    (a.articles || []).forEach(function (x) {
      var el = document.querySelector('[data-aud="' + x.position + '"]');
      if (el && el.textContent !== fmt(x.recipients)) {
        el.textContent = fmt(x.recipients);
        el.parentNode.classList.add("changed");
      }
    });
    var tb = document.querySelector("#combos tbody");
    if (!tb) return;
    var names = {};
    document.querySelectorAll('.article fieldset.topics input[name="topics"]').forEach(function (i) {
      names[i.value] = i.parentNode.textContent.trim();
    });
    var all = tb.getAttribute("data-all") || "";
    while (tb.firstChild) tb.removeChild(tb.firstChild);
    (a.combinations || []).forEach(function (c) {
      var tr = document.createElement("tr");
      var n = document.createElement("td");
      n.className = "n";
      n.textContent = fmt(c.subscribers);
      var t = document.createElement("td");
      t.textContent = c.topics.map(function (s) { return s === "all" ? all : (names[s] || s); }).join(", ");
      var g = document.createElement("td");
      (c.articles || []).forEach(function (p) {
        var s = document.createElement("span");
        s.className = "pos";
        s.textContent = p;
        g.appendChild(s);
        g.appendChild(document.createTextNode(" "));
      });
      tr.appendChild(n); tr.appendChild(t); tr.appendChild(g);
      tb.appendChild(tr);
    });
  }

  document.querySelectorAll("form.article-form").forEach(function (f) {
    f.querySelectorAll('input[name="topics"]').forEach(function (box) {
      box.addEventListener("change", function () {
        var body = new URLSearchParams();
        body.append("orig_topics", f.elements.orig_topics.value);
        body.append("orig_title", f.elements.orig_title.value);
        var now = [];
        f.querySelectorAll('input[name="topics"]:checked').forEach(function (b) {
          body.append("topics", b.value);
          now.push(b.value);
        });
        f.classList.add("busy");
        fetch(f.getAttribute("data-live"), {
          method: "POST", credentials: "same-origin",
          headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
          body: body
        }).then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.json();
        }).then(function (a) {
          f.elements.orig_topics.value = now.join(",");
          var chips = f.querySelector(".chips");
          if (chips) {
            var tagged = chips.querySelector(".tagged");
            chips.querySelectorAll(".chip").forEach(function (c) { c.remove(); });
            if (now.length === 0) {
              var e = document.createElement("span");
              e.className = "chip every";
              e.textContent = chips.getAttribute("data-every") || "";
              chips.insertBefore(e, tagged);
            }
            now.forEach(function (s) {
              var c = document.createElement("span");
              c.className = "chip topic";
              var b = f.querySelector('input[name="topics"][value="' + CSS.escape(s) + '"]');
              c.textContent = b ? b.parentNode.textContent.trim() : s;
              chips.insertBefore(c, tagged);
            });
            if (tagged) tagged.textContent = chips.getAttribute("data-hand") || tagged.textContent;
          }
          showAudience(a);
        }).catch(function () {
          f.submit();
        }).finally(function () {
          f.classList.remove("busy");
        });
      });
    });
  });

  // A title box is one line: Enter saves instead of breaking it.
  document.querySelectorAll("textarea.title").forEach(function (ta) {
    ta.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.isComposing) {
        ev.preventDefault();
        ta.form.requestSubmit();
      }
    });
  });

  // "As a reader": suggest addresses of the list as one types.
  document.querySelectorAll("input[data-suggest]").forEach(function (inp) {
    var dl = document.getElementById(inp.getAttribute("list"));
    var timer = null;
    inp.addEventListener("input", function () {
      clearTimeout(timer);
      var q = inp.value.trim();
      if (q.length < 2 || !dl) return;
      timer = setTimeout(function () {
        fetch(inp.getAttribute("data-suggest") + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (list) {
            while (dl.firstChild) dl.removeChild(dl.firstChild);
            list.forEach(function (e) {
              var o = document.createElement("option");
              o.value = e;
              dl.appendChild(o);
            });
          })
          .catch(function () {});
      }, 200);
    });
  });

  // Preview width without a reload.
  document.querySelectorAll(".width-toggle a[data-width]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      var box = document.getElementById("frame-box");
      if (!box) return;
      ev.preventDefault();
      box.classList.toggle("phone", a.getAttribute("data-width") === "phone");
      document.querySelectorAll(".width-toggle a").forEach(function (b) {
        b.classList.toggle("on", b === a);
        b.setAttribute("aria-pressed", b === a ? "true" : "false");
      });
    });
  });

  // Polling: send progress and background jobs.
  function poll(el, show) {
    var url = el.getAttribute("data-poll");
    if (!url) return;
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          if (show(s)) setTimeout(tick, 1000);
          else location.reload();
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 1000);
  }

  var pg = document.getElementById("progress");
  if (pg) {
    poll(pg, function (s) {
      ["total", "sent", "pending", "failed", "skipped", "bounced"].forEach(function (k) { setText("pg-" + k, fmt(s[k])); });
      setText("pg-percent", s.percent);
      setText("pg-rate", (s.rate || 0).toFixed(1));
      setText("pg-eta", s.eta_seconds > 0 ? s.eta_seconds + "s" : "—");
      var bar = document.getElementById("pg-bar");
      if (bar) { bar.max = s.total || 1; bar.value = s.done; }
      return !s.held && (s.state === "" || s.state === "preparing" || s.state === "running");
    });
  }
  var job = document.getElementById("job");
  if (job) {
    poll(job, function (s) {
      setText("job-done", fmt(s.done));
      var bar = document.getElementById("job-bar");
      if (bar) { bar.max = s.total || 1; bar.value = s.done; }
      return s.state === "queued" || s.state === "running";
    });
  }
})();

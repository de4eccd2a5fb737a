/* Gong web app: local times, day separators, history scroll-back, the live feed (SSE),
   unread counts and "@ you" marks, alert messages (state updated live, long lists collapsed),
   recalling messages (placeholders shown live), the message a link leads to, the composer
   with @-completion, and copy buttons.
   No framework, no build step. Every message's HTML comes from the server, already escaped
   and sanitised; this file only moves it around. */
(function () {
  "use strict";

  // -- words ------------------------------------------------------------------------------------
  /* t("Sign in") is the text in the page's language (window.GONG_MESSAGES, served by
     /i18n/<language>.js); "%(name)s" takes params.name. tn("%(n)s message", "%(n)s messages", n)
     picks the plural form. The ids are English; `make messages` extracts them. */
  var MESSAGES = window.GONG_MESSAGES || {};
  var LANG = document.documentElement.lang || "en";
  function fill(text, params) {
    if (!params) return text;
    return text.replace(/%\((\w+)\)s/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : all;
    });
  }
  function t(id, params) {
    var found = MESSAGES[id];
    return fill(typeof found === "string" ? found : id, params);
  }
  function tn(one, other, n, params) {
    var found = MESSAGES[one];
    var forms = Array.isArray(found) ? found : [one, other];
    var index = LANG.indexOf("zh") === 0 ? 0 : (n === 1 ? 0 : 1);
    var all = Object.assign({ n: n }, params || {});
    return fill(forms[Math.min(index, forms.length - 1)], all);
  }
  window.gongText = { t: t, tn: tn, lang: LANG };

  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var myUserId = body.dataset.userId || "";
  var isAdmin = body.dataset.admin === "1";
  var myMembers = {};
  try { myMembers = JSON.parse(body.dataset.myMembers || "{}"); } catch (e) { myMembers = {}; }
  var chat = document.getElementById("chat");
  var currentGroup = chat ? chat.dataset.groupId : null;
  var list = document.getElementById("message-list");
  var scroller = document.getElementById("messages");
  var seen = new Set();
  /* The page shows a message in context (a link to it) and newer ones exist past the page:
     live messages are not appended after the gap. */
  var gap = Boolean(chat && chat.dataset.gap === "1");

  // -- times ------------------------------------------------------------------------------------

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function dayKey(d) { return d.getFullYear() + "-" + (d.getMonth() + 1) + "-" + d.getDate(); }
  function dayLabel(d) {
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(d) === dayKey(today)) return "Today";
    if (dayKey(d) === dayKey(yesterday)) return "Yesterday";
    var label = d.toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" });
    return d.getFullYear() === today.getFullYear() ? label : label + ", " + d.getFullYear();
  }
  function shortWhen(d) {
    var today = new Date();
    if (dayKey(d) === dayKey(today)) return clock(d);
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(d) === dayKey(yesterday)) return "Yesterday";
    return (d.getMonth() + 1) + "/" + d.getDate();
  }

  /* A time that may be on another day than today: "14:05", else "12/5 14:05". */
  function whenText(d) {
    var today = new Date();
    if (dayKey(d) === dayKey(today)) return clock(d);
    var date = (d.getMonth() + 1) + "/" + d.getDate();
    if (d.getFullYear() !== today.getFullYear()) date = d.getFullYear() + "/" + date;
    return date + " " + clock(d);
  }
  /* How long, as the server writes it (gong.domain.timetext.duration): "12 min 5 s". */
  function duration(seconds) {
    var total = Math.round(seconds);
    var days = Math.floor(total / 86400), rest = total % 86400;
    var hours = Math.floor(rest / 3600); rest %= 3600;
    var minutes = Math.floor(rest / 60), secs = rest % 60;
    if (days) return hours ? days + " d " + hours + " h" : days + " d";
    if (hours) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    if (minutes) return secs ? minutes + " min " + secs + " s" : minutes + " min";
    return secs + " s";
  }

  function formatTimes(root) {
    root.querySelectorAll("time[data-ms]").forEach(function (t) {
      var d = new Date(Number(t.dataset.ms));
      if (isNaN(d.getTime())) return;
      if (t.dataset.format === "full") t.textContent = d.toLocaleString();
      else if (t.dataset.format === "when") t.textContent = whenText(d);
      else if (t.classList.contains("conversation-time")) t.textContent = shortWhen(d);
      else t.textContent = clock(d);
      t.title = d.toLocaleString();
    });
  }

  // -- messages ---------------------------------------------------------------------------------

  function decorate(el) {
    var id = el.dataset.messageId;
    if (id) seen.add(id);
    if (myUserId && el.dataset.senderType === "user" && el.dataset.senderUser === myUserId) {
      el.classList.add("mine");
    }
    var mine = currentGroup && myMembers[currentGroup];
    var mentions = (el.dataset.mentions || "").split(" ");
    if (mine && (el.dataset.atAll === "1" || mentions.indexOf(String(mine)) >= 0)) {
      el.classList.add("mentions-me");
    }
    formatTimes(el);
    alertAfter(el);
    collapseAlerts(el);
  }

  // -- alert messages ---------------------------------------------------------------------------

  /* "after 12 min": from when the alerts started firing (data-from, when the server knows),
     else from the message's own time, to when they resolved. A live update does not know
     when the message was posted; the page does. */
  function alertAfter(el) {
    el.querySelectorAll(".alert-after[data-to]").forEach(function (span) {
      var from = Number(span.dataset.from || el.dataset.ts);
      var to = Number(span.dataset.to);
      span.textContent = from && to >= from ? " after " + duration((to - from) / 1000) : "";
    });
  }

  /* An alert message's list (one item per alert) shows its first ALERTS_SHOWN items; a real
     button shows the rest, and hides them again. Nothing is removed from the page. */
  var ALERTS_SHOWN = 10;
  function collapseAlerts(el) {
    if (!el.dataset.alert || el.querySelector(".show-more")) return;
    var list = null;
    el.querySelectorAll(".md > ul, .md > ol").forEach(function (l) {
      if (!list || l.children.length > list.children.length) list = l;
    });
    if (!list || list.children.length <= ALERTS_SHOWN) return;
    var rest = Array.prototype.slice.call(list.children, ALERTS_SHOWN);
    if (!list.id) list.id = "alerts-" + el.dataset.messageId;
    list.classList.add("alert-list");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "show-more";
    button.setAttribute("aria-controls", list.id);
    function show(open) {
      rest.forEach(function (li) { li.hidden = !open; });
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "Show fewer" : "Show " + rest.length + " more";
    }
    button.addEventListener("click", function () {
      show(button.getAttribute("aria-expanded") !== "true");
    });
    show(false);
    list.parentNode.insertBefore(button, list.nextSibling);
  }

  /* A shown message changed (its alerts resolved, the quiet window counted a repeat): the
     server sends its new status, rendered as the page renders it; swap it in place. */
  function onUpdate(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    var el = document.getElementById("m-" + data.id);
    var head = el && el.querySelector(".msg-head");
    if (!head) return;
    var old = head.querySelector(".msg-status");
    var node = data.html ? fragment(data.html).firstElementChild : null;
    if (old && node) old.replaceWith(node);
    else if (old) old.remove();
    else if (node) head.appendChild(node);
    if (data.alert && data.alert.state) el.dataset.alert = data.alert.state;
    else delete el.dataset.alert;
    formatTimes(head);
    alertAfter(el);
    collapseAlerts(el);
  }

  // -- recall -----------------------------------------------------------------------------------

  var RECALLED = "Message recalled";

  /* A recalled message keeps its sender and time; its content gives way to a placeholder. */
  function showRecalled(el) {
    if (!el || el.dataset.recalled === "1") return;
    el.dataset.recalled = "1";
    el.classList.add("msg-recalled");
    el.classList.remove("mentions-me");
    delete el.dataset.alert;
    delete el.dataset.atAll;
    el.dataset.mentions = "";
    if (el.classList.contains("msg-system")) {
      var line = document.createElement("p");
      line.textContent = RECALLED;
      el.replaceChildren(line);
      return;
    }
    var main = el.querySelector(".msg-main");
    var head = main && main.querySelector(".msg-head");
    if (!main || !head) return;
    head.querySelectorAll(".msg-status, .msg-recall, .msg-recall-error").forEach(function (n) { n.remove(); });
    var note = document.createElement("div");
    note.className = "bubble bubble-recalled";
    note.textContent = RECALLED;
    main.replaceChildren(head, note);
  }

  /* A message that arrived live is new: an admin may recall it, and so may the person who
     posted it (the server holds the rule, gong.domain.history.can_recall, and refuses the
     rest); the page's own messages carry the button when the server allows it. */
  function offerRecall(el) {
    if (el.dataset.recalled === "1" || el.classList.contains("msg-system")) return;
    if (!(isAdmin || el.classList.contains("mine")) || el.querySelector(".msg-recall")) return;
    var head = el.querySelector(".msg-head");
    if (!head) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "msg-recall";
    button.dataset.recall = el.dataset.messageId;
    button.textContent = "Recall";
    head.appendChild(button);
  }

  function recallError(el, text) {
    var head = el.querySelector(".msg-head");
    if (!head) return;
    var span = head.querySelector(".msg-recall-error");
    if (!span) {
      span = document.createElement("span");
      span.className = "msg-recall-error";
      span.setAttribute("role", "alert");
      head.appendChild(span);
    }
    span.textContent = text;
  }

  function recall(button) {
    var el = button.closest(".msg");
    if (!el || !window.confirm("Recall this message for everyone?")) return;
    button.disabled = true;
    fetch("/api/messages/" + encodeURIComponent(button.dataset.recall), {
      method: "DELETE",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin"
    }).then(function (r) {
      if (r.ok) { showRecalled(el); return null; }
      return r.json().then(function (b) {
        recallError(el, "Not recalled: " + ((b.error && b.error.message) || "HTTP " + r.status));
      }, function () { recallError(el, "Not recalled: HTTP " + r.status); });
    }).catch(function () {
      recallError(el, "Not recalled: the server cannot be reached.");
    }).then(function () { button.disabled = false; });
  }

  /* Someone recalled a message: its placeholder takes its place, here and in the list. */
  function onRecalled(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    showRecalled(document.getElementById("m-" + data.id));
    var r = row(data.group_id);
    var preview = r && r.querySelector(".preview");
    if (preview && r.dataset.lastId === String(data.id)) {
      var sender = preview.dataset.sender;
      preview.textContent = (sender ? sender + ": " : "") + "[" + RECALLED + "]";
    }
  }

  // -- the message a link leads to --------------------------------------------------------------

  /* "?at=ID#m-ID" (a search result, a digest's link): that message, marked, in the middle. */
  function showTarget() {
    var id = chat && chat.dataset.target;
    var el = id && document.getElementById("m-" + id);
    if (!el) return false;
    el.classList.add("msg-target");
    var centre = function () { el.scrollIntoView({ block: "center" }); stuck = nearBottom(); };
    centre();
    // The browser scrolls to the #m-ID fragment itself once the page has loaded: centre again.
    if (document.readyState !== "complete") window.addEventListener("load", centre, { once: true });
    return true;
  }

  /* Day separators are recomputed over the whole list: cheap, and right after prepending
     history or appending live messages alike. */
  function separate() {
    if (!list) return;
    list.querySelectorAll(".day-separator").forEach(function (s) { s.remove(); });
    var previous = null;
    list.querySelectorAll(".msg").forEach(function (el) {
      var d = new Date(Number(el.dataset.ts));
      var key = dayKey(d);
      if (key !== previous) {
        var sep = document.createElement("div");
        sep.className = "day-separator";
        sep.setAttribute("role", "separator");
        var span = document.createElement("span");
        span.textContent = dayLabel(d);
        sep.appendChild(span);
        el.parentNode.insertBefore(sep, el);
        previous = key;
      }
    });
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function nearBottom() {
    return scroller && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }
  function toBottom() { if (scroller) scroller.scrollTop = scroller.scrollHeight; }
  /* Whether the reader is at the newest message: then growth (a picture loading, a new
     message) keeps them there; once they scroll up to read, it does not move them. */
  var stuck = true;

  // -- read state -------------------------------------------------------------------------------

  var readTimer = null;
  function markRead() {
    if (!currentGroup || !list || document.visibilityState !== "visible") return;
    var all = list.querySelectorAll(".msg");
    if (!all.length) return;
    var upTo = Number(all[all.length - 1].dataset.messageId);
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      fetch("/groups/" + currentGroup + "/read", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ up_to: upTo }),
        credentials: "same-origin"
      }).catch(function () {});
      setUnread(currentGroup, 0, false);
    }, 300);
  }

  // -- the conversation list --------------------------------------------------------------------

  function row(groupId) {
    return document.querySelector('.conversation[data-group-id="' + groupId + '"]');
  }

  function setUnread(groupId, count, mentioned) {
    var r = row(groupId);
    if (!r) return;
    r.dataset.unread = String(count);
    var badge = r.querySelector(".unread-badge");
    if (badge) {
      badge.textContent = count >= 100 ? "99+" : String(count);
      badge.hidden = count === 0;
    }
    if (mentioned !== null) {
      r.dataset.mentioned = mentioned ? "1" : "0";
      var at = r.querySelector(".at-you");
      if (at) at.hidden = !mentioned;
    }
  }

  function onListEvent(data, readNow) {
    var r = row(data.group_id);
    if (!r) return;
    var preview = r.querySelector(".preview");
    if (preview) {
      preview.textContent = data.sender.name + ": " + data.preview;
      preview.dataset.sender = data.sender.name;
    }
    var time = r.querySelector(".conversation-time");
    if (time) { time.dataset.ms = String(data.created_at); formatTimes(r); }
    r.dataset.lastId = String(data.id);
    var fromMe = data.sender.type === "user" && String(data.sender.user_id) === myUserId;
    if (!readNow && !fromMe) {
      var mine = myMembers[String(data.group_id)];
      var mentioned = Boolean(mine) && (data.at_all || data.mentions.indexOf(mine) >= 0);
      setUnread(data.group_id, Number(r.dataset.unread || 0) + 1,
                mentioned || r.dataset.mentioned === "1");
    }
    if (r.parentNode && r.parentNode.firstElementChild !== r) {
      r.parentNode.insertBefore(r, r.parentNode.firstElementChild);
    }
  }

  // -- the live feed ----------------------------------------------------------------------------

  function onMessage(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    var key = String(data.id);
    var here = Boolean(currentGroup && String(data.group_id) === currentGroup && !gap);
    if (here && list && !seen.has(key) && !document.getElementById("m-" + key)) {
      var node = fragment(data.html).firstElementChild;
      if (node) {
        var start = document.getElementById("history-start");
        if (start && start.dataset.begin) start.textContent = start.dataset.begin;  // not empty now
        list.appendChild(node);
        decorate(node);
        offerRecall(node);
        separate();
        if (stuck || node.classList.contains("mine")) toBottom();
      }
    } else if (seen.has(key)) {
      return;
    }
    seen.add(key);
    var visible = document.visibilityState === "visible";
    onListEvent(data, here && visible);
    if (here && visible) markRead();
  }

  function connect() {
    if (!window.EventSource || !document.getElementById("conversations")) return;
    var source = new EventSource("/events?after=" + encodeURIComponent(body.dataset.after || "0"));
    source.addEventListener("message", onMessage);
    source.addEventListener("message_update", onUpdate);
    source.addEventListener("message_recalled", onRecalled);
    source.addEventListener("reset", function () { window.location.reload(); });
    source.addEventListener("open", function () { body.dataset.live = "1"; });
    source.addEventListener("error", function () {
      body.dataset.live = "0";
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out?) or gone: try again shortly; a reload leads to sign-in if needed.
        setTimeout(function () { window.location.reload(); }, 5000);
      }
    });
  }

  // -- history ----------------------------------------------------------------------------------

  function setupHistory() {
    var more = document.getElementById("history-more");
    if (!more || !chat || !("IntersectionObserver" in window)) return;
    var loading = false;
    var observer = new IntersectionObserver(function (entries) {
      if (!entries.some(function (e) { return e.isIntersecting; })) return;
      var before = chat.dataset.nextBefore;
      if (loading || !before) return;
      loading = true;
      fetch("/groups/" + currentGroup + "/history?before=" + encodeURIComponent(before),
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (page) {
          var height = scroller.scrollHeight;
          var nodes = fragment(page.html);
          var added = Array.prototype.slice.call(nodes.children);
          list.insertBefore(nodes, list.firstChild);
          added.forEach(decorate);
          separate();
          scroller.scrollTop += scroller.scrollHeight - height;
          chat.dataset.nextBefore = page.next_before || "";
          if (!page.next_before) {
            more.hidden = true;
            document.getElementById("history-start").hidden = false;
            observer.disconnect();
          }
        })
        .catch(function () {})
        .then(function () { loading = false; });
    }, { root: scroller, rootMargin: "200px 0px 0px 0px" });
    observer.observe(more);
  }

  // -- the composer -----------------------------------------------------------------------------

  function setupComposer() {
    var form = document.getElementById("composer");
    if (!form) return;
    var text = document.getElementById("composer-text");
    var menu = document.getElementById("mention-menu");
    var markdown = document.getElementById("composer-markdown");
    var error = document.getElementById("composer-error");
    var people = [];
    try { people = JSON.parse(document.getElementById("mentionables").textContent); } catch (e) {}
    people = [{ kind: "all", name: "all" }].concat(people).map(function (p) {
      return { kind: p.kind, name: String(p.name || ""), mobile: String(p.mobile || ""),
               userId: String(p.userId || "") };
    });
    var picked = [];
    var options = [];
    var active = 0;

    function query() {
      var before = text.value.slice(0, text.selectionStart);
      var m = /(^|\s)@([^\s@]*)$/.exec(before);
      return m ? m[2] : null;
    }
    function close() { menu.hidden = true; options = []; }
    function render() {
      menu.textContent = "";
      options.forEach(function (p, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.className = "mention-option" + (i === active ? " active" : "");
        li.dataset.index = String(i);
        var name = document.createElement("span");
        name.textContent = p.kind === "all" ? "@all (everyone)" : p.name;
        li.appendChild(name);
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = p.kind === "robot" ? "robot" : (p.kind === "all" ? "" : (p.userId || p.mobile));
        li.appendChild(hint);
        menu.appendChild(li);
      });
      menu.hidden = options.length === 0;
    }
    function update() {
      var q = query();
      if (q === null) { close(); return; }
      var lower = q.toLowerCase();
      options = people.filter(function (p) {
        return p.name.toLowerCase().indexOf(lower) >= 0 || p.mobile.indexOf(q) >= 0 ||
               p.userId.toLowerCase().indexOf(lower) >= 0;
      }).slice(0, 8);
      active = 0;
      render();
    }
    function choose(i) {
      var p = options[i];
      if (!p) return;
      var caret = text.selectionStart;
      var before = text.value.slice(0, caret).replace(/@([^\s@]*)$/, "");
      var label = "@" + p.name + " ";
      text.value = before + label + text.value.slice(caret);
      var at = (before + label).length;
      text.setSelectionRange(at, at);
      picked.push(p);
      close();
      text.focus();
    }

    text.addEventListener("input", update);
    text.addEventListener("click", update);
    menu.addEventListener("mousedown", function (e) {
      var li = e.target.closest(".mention-option");
      if (li) { e.preventDefault(); choose(Number(li.dataset.index)); }
    });
    text.addEventListener("keydown", function (e) {
      if (!menu.hidden && options.length) {
        if (e.key === "ArrowDown") { active = (active + 1) % options.length; render(); e.preventDefault(); return; }
        if (e.key === "ArrowUp") { active = (active - 1 + options.length) % options.length; render(); e.preventDefault(); return; }
        if (e.key === "Enter" || e.key === "Tab") { choose(active); e.preventDefault(); return; }
        if (e.key === "Escape") { close(); e.preventDefault(); return; }
      }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });

    function build(raw) {
      var at = { atMobiles: [], atUserIds: [], isAtAll: false };
      var content = raw;
      picked.forEach(function (p) {
        var label = "@" + p.name;
        if (content.indexOf(label) < 0) return;
        if (p.kind === "all") { at.isAtAll = true; return; }
        if (p.kind !== "member") return;
        var target = p.userId || p.mobile;
        content = content.split(label).join("@" + target);
        if (p.userId) at.atUserIds.push(p.userId); else at.atMobiles.push(p.mobile);
      });
      var message = markdown && markdown.checked
        ? { msgtype: "markdown", markdown: { title: raw.slice(0, 40), text: content } }
        : { msgtype: "text", text: { content: content } };
      if (at.isAtAll || at.atMobiles.length || at.atUserIds.length) message.at = at;
      return message;
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var raw = text.value;
      if (!raw.trim()) return;
      error.textContent = "";
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch("/api/groups/" + currentGroup + "/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(build(raw)),
        credentials: "same-origin"
      }).then(function (r) {
        // What was typed meanwhile (the message may show live before this answer) is kept.
        if (r.ok) { if (text.value === raw) { text.value = ""; picked = []; } return null; }
        return r.json().then(function (b) { error.textContent = (b.error && b.error.message) || "Not sent"; });
      }).catch(function () {
        error.textContent = "Not sent: the server cannot be reached.";
      }).then(function () { button.disabled = false; text.focus(); });
    });
  }

  // -- copy buttons -----------------------------------------------------------------------------

  function setupCopy() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(source.value).then(done, function () {
            source.select(); document.execCommand("copy"); done();
          });
        } else {
          source.select(); document.execCommand("copy"); done();
        }
      });
    });
  }

  // -- start ------------------------------------------------------------------------------------

  formatTimes(document);
  if (list) {
    list.querySelectorAll(".msg").forEach(decorate);
    separate();
    if (!showTarget()) toBottom();
    list.addEventListener("click", function (e) {
      var button = e.target.closest(".msg-recall");
      if (button) recall(button);
    });
    scroller.addEventListener("scroll", function () { stuck = nearBottom(); }, { passive: true });
    // Pictures load after the first layout (load does not bubble, so listen while capturing).
    list.addEventListener("load", function () { if (stuck) toBottom(); }, true);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") markRead();
  });
  setupHistory();
  setupComposer();
  setupCopy();
  connect();
  body.dataset.ready = "1";
})();

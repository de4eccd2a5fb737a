/* Gong web app: local times, day separators, history scroll-back, the live feed (SSE),
   unread counts and "@ you" marks, alert messages (state updated live, long lists collapsed),
   recalling messages (placeholders shown live), the message a link leads to, the composer
   with @-completion, copy buttons, confirmations of destructive actions (a modal dialog),
   placeholders for pictures that fail, the account menu's keys, and the robot page's test
   message and template editor.
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
  /* The words of a JSON error answer: in the reader's language where the server gives them
     ("text", the web app's own requests), else its English "message". */
  function errorText(answer) {
    var error = answer && answer.error;
    return error ? String(error.text || error.message || "") : "";
  }

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
  /* Times are written in the page's language and in the group's time zone: the nearest
     element with data-timezone says it (a conversation, a robot's page, a search hit), else
     <body> carries the server's. The clock has 24 hours, as DingTalk's. */

  var formats = {};
  function formatter(zone, options, lang) {
    var key = (lang || LANG) + "|" + zone + "|" + JSON.stringify(options);
    if (!formats[key]) {
      var all = Object.assign({}, options);
      if (zone) all.timeZone = zone;
      try {
        formats[key] = new Intl.DateTimeFormat(lang || LANG, all);
      } catch (e) {  // a zone this browser does not know: its own
        delete all.timeZone;
        formats[key] = new Intl.DateTimeFormat(lang || LANG, all);
      }
    }
    return formats[key];
  }
  function zoneOf(el) {
    var holder = el && el.closest ? el.closest("[data-timezone]") : null;
    return (holder && holder.dataset.timezone) || body.dataset.timezone || "";
  }
  /* The calendar day of a moment in a zone: "2026-12-5". */
  function dayKey(d, zone) {
    var p = {};
    formatter(zone, { year: "numeric", month: "numeric", day: "numeric" }, "en-US")
      .formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day;
  }
  function today(zone) { return dayKey(new Date(), zone); }
  function yesterday(zone) { return dayKey(new Date(Date.now() - 86400000), zone); }
  function thisYear(d, zone) { return dayKey(d, zone).split("-")[0] === today(zone).split("-")[0]; }
  var CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  function clock(d, zone) { return formatter(zone, CLOCK).format(d); }
  /* A day separator: "Today", "Yesterday", else "Sat, Dec 5" / "12月5日周六" (with the year
     when it is not this year's). */
  function dayLabel(d, zone) {
    var key = dayKey(d, zone);
    if (key === today(zone)) return t("Today");
    if (key === yesterday(zone)) return t("Yesterday");
    var options = { weekday: "short", month: "short", day: "numeric" };
    if (!thisYear(d, zone)) options.year = "numeric";
    return formatter(zone, options).format(d);
  }
  /* The conversation list's time: "14:05", "Yesterday", "12/5". */
  function shortWhen(d, zone) {
    var key = dayKey(d, zone);
    if (key === today(zone)) return clock(d, zone);
    if (key === yesterday(zone)) return t("Yesterday");
    var options = { month: "numeric", day: "numeric" };
    if (!thisYear(d, zone)) options.year = "numeric";
    return formatter(zone, options).format(d);
  }
  /* A time that may be on another day than today: "14:05", else "12/5 14:05". */
  function whenText(d, zone) {
    if (dayKey(d, zone) === today(zone)) return clock(d, zone);
    var options = Object.assign({ month: "numeric", day: "numeric" }, CLOCK);
    if (!thisYear(d, zone)) options.year = "numeric";
    return formatter(zone, options).format(d);
  }
  var FULL = Object.assign({ year: "numeric", month: "short", day: "numeric", second: "2-digit" }, CLOCK);
  function fullText(d, zone) { return formatter(zone, FULL).format(d); }
  /* How long, as the server writes it (gong.domain.timetext.duration): "12 min 5 s". */
  function duration(seconds) {
    var total = Math.round(seconds);
    var days = Math.floor(total / 86400), rest = total % 86400;
    var hours = Math.floor(rest / 3600); rest %= 3600;
    var minutes = Math.floor(rest / 60), secs = rest % 60;
    if (days) {
      return hours ? t("%(d)s d %(h)s h", { d: days, h: hours }) : t("%(d)s d", { d: days });
    }
    if (hours) {
      return minutes ? t("%(h)s h %(min)s min", { h: hours, min: minutes }) : t("%(h)s h", { h: hours });
    }
    if (minutes) {
      return secs ? t("%(min)s min %(s)s s", { min: minutes, s: secs }) : t("%(min)s min", { min: minutes });
    }
    return t("%(s)s s", { s: secs });
  }

  function formatTimes(root) {
    root.querySelectorAll("time[data-ms]").forEach(function (el) {
      var d = new Date(Number(el.dataset.ms));
      if (isNaN(d.getTime())) return;
      var zone = zoneOf(el);
      if (el.dataset.format === "full") el.textContent = fullText(d, zone);
      else if (el.dataset.format === "when") el.textContent = whenText(d, zone);
      else if (el.classList.contains("conversation-time")) el.textContent = shortWhen(d, zone);
      else el.textContent = clock(d, zone);
      el.title = formatter(zone, Object.assign({ timeZoneName: "short" }, FULL)).format(d);
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
      span.textContent = from && to >= from
        ? " " + t("after %(duration)s", { duration: duration((to - from) / 1000) }) : "";
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
      button.textContent = open ? t("Show fewer") : tn("Show %(n)s more", "Show %(n)s more", rest.length);
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

  var RECALLED = t("Message recalled");

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
    button.textContent = t("Recall");
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
    if (!el) return;
    ask({
      title: t("Recall this message?"),
      text: t("It disappears for everyone in the group; a note that you recalled it stays."),
      confirm: t("Recall")
    }).then(function (yes) { if (yes) recallNow(button, el); });
  }

  function recallNow(button, el) {
    button.disabled = true;
    fetch("/api/messages/" + encodeURIComponent(button.dataset.recall), {
      method: "DELETE",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin"
    }).then(function (r) {
      if (r.ok) { showRecalled(el); return null; }
      return r.json().then(function (b) {
        recallError(el, t("Not recalled: %(reason)s", { reason: errorText(b) || "HTTP " + r.status }));
      }, function () { recallError(el, t("Not recalled: %(reason)s", { reason: "HTTP " + r.status })); });
    }).catch(function () {
      recallError(el, t("Not recalled: the server cannot be reached."));
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
      preview.textContent = (sender ? sender + ": " : "") + t("[Message recalled]");
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
      var key = dayKey(d, zoneOf(el));
      if (key !== previous) {
        var sep = document.createElement("div");
        sep.className = "day-separator";
        sep.setAttribute("role", "separator");
        var span = document.createElement("span");
        span.textContent = dayLabel(d, zoneOf(el));
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
      if (mentioned) r.dataset.mentionId = String(data.id);  // where "@ you" leads (notify.js)
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
    // A message to tell the reader of: notify.js raises the desktop notification.
    source.addEventListener("notify", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("gong:notify", { detail: data }));
    });
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
    // Just after a pick the name is followed by a space: a space typed next is not doubled.
    var spaced = false;
    // The textarea drives the menu: screen readers hear the active option as the arrows move.
    text.setAttribute("aria-controls", menu.id);
    text.setAttribute("aria-autocomplete", "list");
    menu.setAttribute("aria-label", t("People to mention"));

    function query() {
      var before = text.value.slice(0, text.selectionStart);
      var m = /(^|\s)@([^\s@]*)$/.exec(before);
      return m ? m[2] : null;
    }
    function close() { menu.hidden = true; options = []; text.removeAttribute("aria-activedescendant"); }
    function render() {
      menu.textContent = "";
      options.forEach(function (p, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = "mention-option-" + i;
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.className = "mention-option" + (i === active ? " active" : "");
        li.dataset.index = String(i);
        var name = document.createElement("span");
        name.textContent = p.kind === "all" ? t("@all (everyone)") : p.name;
        li.appendChild(name);
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = p.kind === "robot" ? t("robot") : (p.kind === "all" ? "" : (p.userId || p.mobile));
        li.appendChild(hint);
        menu.appendChild(li);
      });
      menu.hidden = options.length === 0;
      if (options.length) {
        text.setAttribute("aria-activedescendant", "mention-option-" + active);
        var current = document.getElementById("mention-option-" + active);
        if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
      } else {
        text.removeAttribute("aria-activedescendant");
      }
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
      var after = text.value.slice(caret);
      // One space after the name: none added where the text already goes on with one.
      var label = "@" + p.name + (/^\s/.test(after) ? "" : " ");
      text.value = before + label + after;
      spaced = true;
      var at = (before + label).length;
      text.setSelectionRange(at, at);
      picked.push(p);
      close();
      text.focus();
    }

    text.addEventListener("input", update);
    text.addEventListener("click", function () { spaced = false; update(); });
    menu.addEventListener("mousedown", function (e) {
      var li = e.target.closest(".mention-option");
      if (li) { e.preventDefault(); choose(Number(li.dataset.index)); }
    });
    text.addEventListener("keydown", function (e) {
      var wasSpaced = spaced;
      spaced = false;
      if (wasSpaced && e.key === " " && !e.isComposing &&
          /\s/.test(text.value.charAt(text.selectionStart - 1))) {
        e.preventDefault();
        return;
      }
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
        // No title: the server gives it (the first line's words, without markup).
        ? { msgtype: "markdown", markdown: { text: content } }
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
        return r.json().then(function (b) { error.textContent = errorText(b) || t("Not sent"); });
      }).catch(function () {
        error.textContent = t("Not sent: the server cannot be reached.");
      }).then(function () { button.disabled = false; text.focus(); });
    });
  }

  // -- confirmations ----------------------------------------------------------------------------

  /* A destructive action asks first, in a modal <dialog> that says what breaks: a form with
     data-confirm="…" (its heading and button: data-confirm-button, else the submit button's
     words) and recalling a message. Focus starts on Cancel, Esc cancels, and focus returns
     to where it was. Without scripts the form asks with a required box (in <noscript>). */
  var confirmDialog = null;
  function confirmBox() {
    if (confirmDialog) return confirmDialog;
    var dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.setAttribute("aria-describedby", "confirm-text");
    var title = document.createElement("h2");
    title.className = "confirm-title";
    title.id = "confirm-title";
    var text = document.createElement("p");
    text.className = "confirm-text";
    text.id = "confirm-text";
    var buttons = document.createElement("form");
    buttons.method = "dialog";
    buttons.className = "confirm-buttons";
    var cancel = document.createElement("button");
    cancel.type = "submit";
    cancel.value = "cancel";
    cancel.className = "confirm-cancel";
    var yes = document.createElement("button");
    yes.type = "submit";
    yes.value = "yes";
    yes.className = "confirm-yes danger-fill";
    buttons.appendChild(cancel);
    buttons.appendChild(yes);
    dialog.appendChild(title);
    dialog.appendChild(text);
    dialog.appendChild(buttons);
    body.appendChild(dialog);
    confirmDialog = dialog;
    return dialog;
  }

  /* ask({title, text, confirm}) → a promise of true (confirmed) or false (cancelled). */
  function ask(question) {
    var dialog = confirmBox();
    var opener = document.activeElement;
    dialog.querySelector(".confirm-title").textContent = question.title || t("Are you sure?");
    dialog.querySelector(".confirm-text").textContent = question.text || "";
    dialog.querySelector(".confirm-yes").textContent = question.confirm || t("Confirm");
    dialog.querySelector(".confirm-cancel").textContent = t("Cancel");
    dialog.returnValue = "";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        if (opener && opener.focus && document.contains(opener)) opener.focus();
        resolve(dialog.returnValue === "yes");
      }, { once: true });
      dialog.showModal();
      dialog.querySelector(".confirm-cancel").focus();
    });
  }

  function setupConfirmations() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form || !form.dataset || !form.dataset.confirm) return;
      if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
      e.preventDefault();
      var submitter = e.submitter && e.submitter.form === form ? e.submitter : null;
      var words = form.dataset.confirmButton || (submitter ? submitter.textContent.trim() : "");
      ask({ title: words, text: form.dataset.confirm, confirm: words }).then(function (yes) {
        if (!yes) return;
        form.dataset.confirmed = "1";
        if (form.requestSubmit) form.requestSubmit(submitter || undefined);
        else form.submit();
      });
    }, true);
  }

  // -- pictures ---------------------------------------------------------------------------------

  /* A picture that does not load (a robot's link gone stale) becomes a quiet tile with its alt
     text instead of the broken-image icon; a robot's avatar falls back to the default robot.
     The error event does not bubble: listen while capturing, and look at what failed before
     this script ran. */
  function pictureFailed(img) {
    if (!img || img.tagName !== "IMG" || img.classList.contains("pic-failed")) return;
    if (img.classList.contains("avatar")) {
      var fallback = "/static/robot.svg";
      if (img.getAttribute("src") !== fallback) img.setAttribute("src", fallback);
      return;
    }
    img.classList.add("pic-failed");
    if (img.alt) img.title = img.alt;
  }
  function setupPictures() {
    document.addEventListener("error", function (e) { pictureFailed(e.target); }, true);
    document.querySelectorAll("img").forEach(function (img) {
      if (img.complete && img.getAttribute("src") && img.naturalWidth === 0) pictureFailed(img);
    });
  }

  // -- the menu ---------------------------------------------------------------------------------

  /* The account menu (details/summary) opens with Enter or Space; Esc or a click elsewhere
     closes it, and Esc gives the focus back to its summary. */
  function setupMenus() {
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        var inside = menu.contains(document.activeElement);
        menu.open = false;
        var summary = menu.querySelector("summary");
        if (inside && summary) summary.focus();
      });
    });
    document.addEventListener("click", function (e) {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        if (!menu.contains(e.target)) menu.open = false;
      });
    });
  }

  // -- the robot page: a test message and the template editor -----------------------------------

  /* "Send a test message" posts through the robot's own send path on the server (keyword,
     signature and allow list included) and shows DingTalk's answer. */
  function setupTestMessage() {
    var form = document.getElementById("test-message-form");
    var answer = document.getElementById("test-answer");
    if (!form || !answer) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      answer.className = "test-answer";
      answer.textContent = t("Sending…");
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json" },
        body: new FormData(form),
        credentials: "same-origin"
      }).then(function (r) {
        return r.json().then(function (b) {
          if (typeof b.errcode === "number") {
            answer.className = "test-answer " + (b.errcode === 0 ? "ok" : "refused");
            answer.textContent = JSON.stringify({ errcode: b.errcode, errmsg: b.errmsg });
          } else {
            answer.className = "test-answer refused";
            answer.textContent = errorText(b) || "HTTP " + r.status;
          }
        });
      }).catch(function () {
        answer.className = "test-answer refused";
        answer.textContent = t("Not sent: the server cannot be reached.");
      }).then(function () { button.disabled = false; });
    });
  }

  /* The template editor previews as you type (after a pause), with the page's own message
     drawing; a template that fails says why, in place. Only the newest answer is shown. */
  function setupTemplateEditor() {
    var editor = document.getElementById("template-editor");
    if (!editor) return;
    var template = document.getElementById("template-text");
    var payload = document.getElementById("template-payload");
    var view = document.getElementById("template-preview");
    var status = document.getElementById("template-status");
    var timer = null;
    var asked = 0;
    function show(text, isError) {
      status.textContent = text;
      status.className = "template-preview-status" + (isError ? " error" : "");
    }
    function run() {
      var number = ++asked;
      show(t("Rendering…"), false);
      fetch(editor.dataset.preview, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRF-Token": csrf },
        body: JSON.stringify({ template: template.value, payload: payload.value }),
        credentials: "same-origin"
      }).then(function (r) {
        return r.json().then(function (b) {
          if (number !== asked) return;
          if (!r.ok) {
            view.replaceChildren();
            show(errorText(b) || "HTTP " + r.status, true);
            return;
          }
          if (b.html) {
            view.replaceChildren(fragment(b.html));
            view.querySelectorAll(".msg").forEach(function (el) { formatTimes(el); });
            show(tn("%(n)s byte of DingTalk JSON", "%(n)s bytes of DingTalk JSON", b.bytes), false);
          } else {
            view.replaceChildren();
            show(t("Nothing would be posted: %(reason)s", { reason: b.ignored || "" }), false);
          }
        });
      }).catch(function () {
        if (number === asked) show(t("The server cannot be reached."), true);
      });
    }
    function later() { clearTimeout(timer); timer = setTimeout(run, 350); }
    template.addEventListener("input", later);
    payload.addEventListener("input", later);
    if (template.value.trim()) run();
  }

  // -- copy buttons -----------------------------------------------------------------------------

  function setupCopy() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        var done = function () {
          button.textContent = t("Copied");
          setTimeout(function () { button.textContent = t("Copy"); }, 1500);
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
  setupConfirmations();
  setupPictures();
  setupMenus();
  setupTestMessage();
  setupTemplateEditor();
  connect();
  body.dataset.ready = "1";
})();

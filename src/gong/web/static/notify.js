/* Gong's notifications in the page (loaded after gong.js):
   - a desktop notification (the Notification API) for each `notify` event of the live feed
     (gong.js dispatches them as "gong:notify"): title the group, body "sender: text"; a click
     focuses the tab and opens the message. Once this browser gets Web Push, the service worker
     (/sw.js) shows them instead, so nothing shows twice;
   - the unread count in the title, "(3) Gong", from the conversation list (groups on do not
     disturb do not count, as in DingTalk), kept up to date as the list changes;
   - the "Someone @-mentioned you" banner, leading to the newest message that mentions you;
   - on the account page, "Allow desktop notifications": asks the browser, then subscribes this
     browser to Web Push with the server's VAPID key. */
(function () {
  "use strict";

  var words = window.gongText || {};
  function t(id, params) {
    if (words.t) return words.t(id, params);
    return id.replace(/%\((\w+)\)s/g, function (all, key) {
      return params && key in params ? String(params[key]) : all;
    });
  }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var list = document.getElementById("conversations");
  var banner = document.getElementById("mention-banner");

  // -- desktop notifications --------------------------------------------------------------------

  /* This browser is subscribed to Web Push: its service worker shows the notifications. */
  var pushed = false;
  function checkPush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) return Promise.resolve();
    return navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) { pushed = Boolean(subscription); }, function () {});
  }

  /* The reader is looking at that conversation: no notification needed. */
  function watching(groupId) {
    var chat = document.getElementById("chat");
    return Boolean(chat) && chat.dataset.groupId === String(groupId) &&
      document.visibilityState === "visible" && document.hasFocus();
  }

  /* One tab raises a message's notification, not every open tab. */
  function claim(messageId) {
    var key = "gong:notified";
    try {
      var done = JSON.parse(window.localStorage.getItem(key) || "[]");
      if (done.indexOf(messageId) >= 0) return false;
      done.push(messageId);
      window.localStorage.setItem(key, JSON.stringify(done.slice(-100)));
    } catch (e) { /* no storage: every tab notifies, the tag keeps one on screen */ }
    return true;
  }

  function notify(data) {
    if (!data || !("Notification" in window) || Notification.permission !== "granted") return;
    if (pushed || watching(data.group_id) || !claim(data.message_id)) return;
    var options = { body: data.sender + ": " + data.text, tag: "gong-group-" + data.group_id };
    var shown;
    try {
      shown = new Notification(data.group, Object.assign({ renotify: true }, options));
    } catch (e) {
      try { shown = new Notification(data.group, options); } catch (again) { return; }
    }
    shown.onclick = function () {
      window.focus();
      shown.close();
      window.location.assign(data.url);
    };
  }

  document.addEventListener("gong:notify", function (event) { notify(event.detail); });

  // -- the title and the banner -----------------------------------------------------------------

  var baseTitle = document.title.replace(/^\(\d+\+?\) /, "");

  function rows() {
    return list ? Array.prototype.slice.call(list.querySelectorAll(".conversation")) : [];
  }

  function updateTitle() {
    var unread = 0;
    rows().forEach(function (r) {
      if (!r.classList.contains("muted")) unread += Number(r.dataset.unread || 0);
    });
    var title = unread ? "(" + (unread > 99 ? "99+" : unread) + ") " + baseTitle : baseTitle;
    if (document.title !== title) document.title = title;
  }

  function updateBanner() {
    if (!banner) return;
    var best = null;
    rows().forEach(function (r) {
      if (r.dataset.mentioned !== "1") return;
      var id = Number(r.dataset.mentionId || 0);
      if (!best || id > best.id) best = { id: id, group: r.dataset.groupId };
    });
    banner.hidden = !best;
    if (best) {
      banner.href = best.id
        ? "/groups/" + best.group + "?at=" + best.id + "#m-" + best.id
        : "/groups/" + best.group;
    }
  }

  function update() { updateTitle(); updateBanner(); }

  if (list && "MutationObserver" in window) {
    new MutationObserver(update).observe(list, {
      subtree: true, childList: true, attributes: true,
      attributeFilter: ["data-unread", "data-mentioned", "data-mention-id", "class"]
    });
  }

  // -- the account page: turning notifications on for this browser ------------------------------

  function setupPermission() {
    var button = document.getElementById("notify-enable");
    var status = document.getElementById("notify-status");
    if (!button || !status) return;
    function say(text) { status.textContent = text; }

    function describe() {
      if (!("Notification" in window)) return t("This browser cannot show desktop notifications.");
      if (Notification.permission === "granted") {
        return pushed
          ? t("Desktop notifications are on, also while Gong is closed.")
          : t("Desktop notifications are on while Gong is open in a tab.");
      }
      if (Notification.permission === "denied") {
        return t("Notifications are blocked for this site: allow them in the browser's site settings.");
      }
      return "";
    }

    function urlKey(text) {
      var base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
      var raw = window.atob(base64);
      var bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      return bytes;
    }

    function answerError(r) {
      return r.json().then(function (b) {
        throw new Error((b.error && b.error.message) || "HTTP " + r.status);
      }, function () { throw new Error("HTTP " + r.status); });
    }

    function subscribe() {
      if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) {
        return Promise.resolve(t("Desktop notifications are on while Gong is open. This browser has no Web Push here, so nothing arrives while Gong is closed."));
      }
      var registration;
      return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (ready) {
        registration = ready;
        return fetch("/api/push/key", { credentials: "same-origin", headers: { "Accept": "application/json" } });
      }).then(function (r) {
        return r.ok ? r.json() : answerError(r);
      }).then(function (body) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: urlKey(body.key)
        });
      }).then(function (subscription) {
        return fetch("/api/push/subscriptions", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(subscription.toJSON())
        });
      }).then(function (r) {
        if (!r.ok) return answerError(r);
        pushed = true;
        return t("Desktop notifications are on, also while Gong is closed.");
      }).catch(function (error) {
        return t("Desktop notifications are on while Gong is open. Web Push could not be set up: %(reason)s",
                 { reason: (error && (error.message || error.name)) || String(error) });
      });
    }

    button.addEventListener("click", function () {
      if (!("Notification" in window)) { say(describe()); return; }
      button.disabled = true;
      say(t("Asking the browser…"));
      Promise.resolve(Notification.requestPermission()).then(function (permission) {
        if (permission !== "granted") return describe() || t("Desktop notifications were not allowed.");
        return subscribe();
      }).catch(function (error) {
        return t("Desktop notifications could not be turned on: %(reason)s",
                 { reason: (error && error.message) || String(error) });
      }).then(function (text) { say(text); button.disabled = false; });
    });
    checkPush().then(function () { if (!button.disabled) say(describe()); });
  }

  // -- start ------------------------------------------------------------------------------------

  update();
  setupPermission();
})();

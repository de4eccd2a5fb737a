/* Gong's service worker (served at /sw.js, scope: the whole app): shows what Web Push brings
   (gong.outgoing.push: {title, body, tag, url, group_id, message_id}) and opens the message when
   the notification is clicked. A window that is looking at the group already needs no
   notification. */
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function groupOf(url) {
  var found = /^\/groups\/(\d+)/.exec(new URL(url).pathname);
  return found ? found[1] : "";
}

function windows() {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true });
}

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(windows().then(function (open) {
    var watching = open.some(function (w) {
      return w.focused && w.visibilityState === "visible" && groupOf(w.url) === String(data.group_id);
    });
    if (watching) return undefined;
    return self.registration.showNotification(data.title || "Gong", {
      body: data.body || "",
      tag: data.tag || "gong",
      renotify: Boolean(data.tag),
      icon: "/static/favicon.svg",
      data: { url: data.url || "/", message_id: data.message_id, group_id: data.group_id }
    });
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var path = (event.notification.data && event.notification.data.url) || "/";
  var url = new URL(path, self.location.origin).href;
  event.waitUntil(windows().then(function (open) {
    for (var i = 0; i < open.length; i++) {
      if (open[i].url === url && "focus" in open[i]) return open[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});

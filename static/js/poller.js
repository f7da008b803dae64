/* Payung's one poll loop, shared by the order page and the QRIS / virtual account page.
 *
 * PayungPoll(url, seconds, handle) asks `url` for JSON every `seconds` and hands the answer to
 * `handle`, which returns true to keep asking. A tab in the background waits until it is
 * looked at again; a 4xx answer (signed out, no longer allowed) stops the loop, since the
 * page's own link or button still works without it; other failures retry with a growing
 * wait, ten times at most. */
(function () {
  "use strict";

  window.PayungPoll = function (url, seconds, handle) {
    if (!url || !window.fetch) {
      return;
    }
    var delay = seconds * 1000;
    var failures = 0;

    function later(ms) {
      window.setTimeout(poll, ms);
    }

    function poll() {
      if (document.hidden) {
        document.addEventListener("visibilitychange", poll, { once: true });
        return;
      }
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) {
            throw new Error("stop");
          }
          if (!response.ok) {
            throw new Error("retry");
          }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          if (handle(data)) {
            later(delay);
          }
        })
        .catch(function (error) {
          failures += 1;
          if (error.message !== "stop" && failures < 10) {
            later(delay * Math.min(failures + 1, 6));
          }
        });
    }

    later(delay);
  };
})();

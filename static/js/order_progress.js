/* Payung order page: while parts are being delivered, ask the server how they are getting on
 * and replace only the progress block (#order-progress), so a message the sponsor is typing
 * on the page is never lost. Without JavaScript the block has a "Refresh" link instead.
 * The answer's HTML is rendered (and escaped) by the server's templates. */
(function () {
  "use strict";

  var block = document.getElementById("order-progress");
  if (!block || !block.dataset.progressUrl || !window.fetch) {
    return;
  }
  var delay = (Number(block.dataset.pollSeconds) || 10) * 1000;
  var failures = 0;

  function later(ms) {
    window.setTimeout(poll, ms);
  }

  function poll() {
    if (document.hidden) {  // a tab in the background waits until it is looked at again
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    fetch(block.dataset.progressUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status >= 400 && response.status < 500) {
          throw new Error("stop");  // signed out or no longer allowed: the link still works
        }
        if (!response.ok) {
          throw new Error("retry");
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        block.innerHTML = data.html;
        if (!data.done) {
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
})();

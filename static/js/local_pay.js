/* Payung's QRIS / virtual account page: copy buttons for the number and the amount, and a
 * poll that moves on to the order page once Xendit's callback has marked the order paid.
 * Without JavaScript the copy buttons stay hidden and the "I have paid" button does the
 * checking; the code, the number and the deadline are plain HTML. */
(function () {
  "use strict";

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var label = button.textContent;
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = button.dataset.copied || label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });

  var block = document.getElementById("local-payment");
  if (!block || !block.dataset.statusUrl || !window.fetch) {
    return;
  }
  var delay = (Number(block.dataset.pollSeconds) || 5) * 1000;
  var failures = 0;

  function later(ms) {
    window.setTimeout(poll, ms);
  }

  function poll() {
    if (document.hidden) {  // a tab in the background waits until it is looked at again
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    fetch(block.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
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
        if (data.done) {
          window.location.assign(data.url);
        } else {
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

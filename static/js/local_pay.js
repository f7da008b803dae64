/* Payung's QRIS / virtual account page: copy buttons for the number and the amount, and a
 * poll that moves on to the order page once Xendit's callback has marked the order paid.
 * Without JavaScript the copy buttons stay hidden and the "I have paid" button does the
 * checking; the code, the number and the deadline are plain HTML. Needs poller.js. */
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
  if (!block || !window.PayungPoll) {
    return;
  }
  window.PayungPoll(block.dataset.statusUrl, Number(block.dataset.pollSeconds) || 5,
    function (data) {
      if (data.done) {
        window.location.assign(data.url);
      }
      return !data.done;
    });
})();

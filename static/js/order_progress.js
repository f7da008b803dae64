/* Payung order page: while parts are being delivered, ask the server how they are getting on
 * and replace only the progress block (#order-progress), so a message the sponsor is typing
 * on the page is never lost. Without JavaScript the block has a "Refresh" link instead.
 * The answer's HTML is rendered (and escaped) by the server's templates. Needs poller.js. */
(function () {
  "use strict";

  var block = document.getElementById("order-progress");
  if (!block || !window.PayungPoll) {
    return;
  }
  window.PayungPoll(block.dataset.progressUrl, Number(block.dataset.pollSeconds) || 10,
    function (data) {
      block.innerHTML = data.html;
      return !data.done;
    });
})();

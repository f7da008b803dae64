/* "Send again in 60 seconds": counts the wait down and keeps the resend button disabled until
 * it ends. Without JavaScript the text stays as the server wrote it and the server still
 * refuses an early resend, so this is only a convenience. */
(function () {
  "use strict";

  var notes = document.querySelectorAll("[data-countdown]");
  Array.prototype.forEach.call(notes, function (note) {
    var left = parseInt(note.getAttribute("data-countdown"), 10);
    var button = document.getElementById(note.getAttribute("data-countdown-button"));
    if (!(left > 0)) {
      return;
    }
    if (button) {
      button.disabled = true;
    }
    var timer = window.setInterval(function () {
      left -= 1;
      if (left > 0) {
        note.textContent = note.textContent.replace(/\d+/, String(left));
        return;
      }
      window.clearInterval(timer);
      note.hidden = true;
      if (button) {
        button.disabled = false;
      }
    }, 1000);
  });
})();

/* Payung pay page: Stripe.js card element and the payment flow (the only JavaScript of checkout).
 *
 * 1. stripe.confirmCardSetup hands the typed card to Stripe (a SetupIntent);
 * 2. the server pays the order's PaymentIntent with that card;
 * 3. when the bank wants 3-D Secure, stripe.confirmCardPayment lets the sponsor authenticate;
 * 4. the return page asks Stripe how the payment ended (the webhook says the same).
 * A card Stripe.js refuses is explained in Payung's words (data-decline-messages, by Stripe's
 * decline_code or code), never with Stripe's own English text.
 * This works with real Stripe and with localstripe's Stripe.js mock (/work/notes/stripe.md). */
(function () {
  "use strict";

  var form = document.getElementById("pay-form");
  if (!form) {
    return;
  }
  if (typeof window.Stripe !== "function") {
    document.getElementById("pay-unavailable").hidden = false;
    return;
  }

  var data = form.dataset;
  var button = document.getElementById("pay-button");
  var errors = document.getElementById("card-errors");
  var status = document.getElementById("pay-status");
  var setupSecret = data.setupSecret;
  var declineMessages = {};
  try {
    declineMessages = JSON.parse(data.declineMessages || "{}");
  } catch (ignored) {
    declineMessages = {};
  }
  // A plain call: the mock's Stripe is an arrow function and cannot be used with `new`.
  var stripe = window.Stripe(data.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.hidden = false;

  function busy(on) {
    button.disabled = on;
    status.textContent = on ? data.busyText : "";
  }

  function showError(message) {
    errors.textContent = message || data.genericError;
    errors.hidden = false;
    busy(false);
  }

  function refusal(error) {
    return declineMessages[error.decline_code] || declineMessages[error.code] ||
      declineMessages.generic_decline || data.genericError;
  }

  function goToReturnPage(url) {
    window.location.assign(url || data.returnUrl);
  }

  async function confirmOnServer(setupIntentId) {
    var response = await fetch(data.confirmUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": data.csrfToken
      },
      body: JSON.stringify({ setup_intent: setupIntentId })
    });
    return response.json();
  }

  async function pay() {
    var setup = await stripe.confirmCardSetup(setupSecret, {
      payment_method: { card: card, billing_details: { name: data.billingName } }
    });
    if (setup.error) {
      return showError(refusal(setup.error));
    }
    var result = await confirmOnServer(setup.setupIntent.id);
    if (result.setup_client_secret) {
      setupSecret = result.setup_client_secret; // the next card needs a fresh SetupIntent
    }
    if (result.status === "requires_action") {
      // The bank wants 3-D Secure. Whatever the answer, the return page reads the outcome.
      await stripe.confirmCardPayment(result.client_secret);
      return goToReturnPage(result.return_url);
    }
    if (result.status === "succeeded" || result.status === "processing") {
      return goToReturnPage(result.return_url);
    }
    return showError(result.message);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.hidden = true;
    busy(true);
    pay().catch(function () {
      showError(data.genericError);
    });
  });
})();

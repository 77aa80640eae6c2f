// The staff console's card form: Stripe.js's Payment Element turns the
// card the customer reads out into a PaymentMethod, in the browser, and
// only its pm_ id is posted to the console. Without Stripe.js (JavaScript
// off, or the script blocked) the form keeps saying that a new card needs
// it, and the other forms work as they are.
(function () {
  'use strict';
  var form = document.getElementById('card-form');
  if (!form || typeof Stripe !== 'function') return;

  var stripe = Stripe(form.dataset.key, form.dataset.account ? {stripeAccount: form.dataset.account} : {});
  var elements = stripe.elements({
    mode: 'payment', amount: Number(form.dataset.amount), currency: form.dataset.currency,
    paymentMethodCreation: 'manual', paymentMethodTypes: ['card']
  });
  var element = elements.create('payment');
  element.mount('#card-element');
  form.querySelector('.js-only').hidden = false;
  document.getElementById('card-needs-js').hidden = true;

  var methodField = document.getElementById('card-payment-method');
  var errorBox = document.getElementById('card-js-error');
  var button = document.getElementById('card-submit');
  var busy = false;

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    busy = false;
    button.disabled = false;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (busy) return; // one PaymentMethod, and one payment, per click
    busy = true;
    button.disabled = true;
    errorBox.hidden = true;
    elements.submit().then(function (r) {
      if (r.error) return r;
      return stripe.createPaymentMethod({
        elements: elements,
        params: {billing_details: {name: document.getElementById('card-name').value}}
      });
    }).then(function (r) {
      if (r.error) {
        fail(r.error.message);
        return;
      }
      methodField.value = r.paymentMethod.id;
      form.submit(); // a plain post: the console answers with the invoice page
    }, function () {
      fail('Stripe could not be reached. Nothing was charged; try again in a minute.');
    });
  });
})();

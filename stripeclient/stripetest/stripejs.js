// A stand-in for Stripe.js (https://js.stripe.com/v3/), served by the
// Stripe emulator at <emulator>/v3/. It implements the part of Stripe.js a
// page needs to turn a card typed into it into a PaymentMethod:
//
//   var stripe = Stripe('pk_test_…', {stripeAccount: 'acct_…'});  // option optional
//   var elements = stripe.elements();            // options accepted, not used
//   var card = elements.create('card');          // or 'payment' (cards only)
//   card.mount('#card');                         // a selector or an element
//   card.on('change', function (e) { … });       // also 'ready', 'focus', 'blur'
//   elements.submit();                           // → Promise of {} or {error}
//   stripe.createPaymentMethod({type: 'card', card: card, billing_details: {name: 'Jane'}});
//   stripe.createPaymentMethod({elements: elements, params: {billing_details: {name: 'Jane'}}});
//     // → Promise of {paymentMethod: {id, card: {brand, last4, …}, …}} or {error: {type, code, message}}
//
// Unlike Stripe's, the fields are plain inputs in the page (no iframe), so
// a headless browser can type into them. They have no name attribute, so
// a form around them never posts the card number to the page's server:
// createPaymentMethod sends it only to the emulator this script was loaded
// from, with the publishable key. Incomplete fields are refused here with
// the messages Stripe's Elements show; everything else is the emulator's
// answer (POST /v1/payment_methods).
(function () {
  'use strict';

  // The emulator's base URL: where this script came from.
  var apiBase = new URL(document.currentScript.src).origin;
  var nextID = 0;

  function digitsOf(s) {
    return String(s).replace(/\D/g, '');
  }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = Number(number.charAt(number.length - 1 - i));
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return sum % 10 === 0;
  }

  // cardBrand guesses the brand from the first digits, as Elements does
  // while the customer types (it decides the CVC's length).
  function cardBrand(number) {
    if (/^3[47]/.test(number)) return 'amex';
    if (/^(5[1-5]|2[2-7])/.test(number)) return 'mastercard';
    if (/^4/.test(number)) return 'visa';
    if (/^6(011|5)/.test(number)) return 'discover';
    return 'unknown';
  }

  function validationError(code, message) {
    return {type: 'validation_error', code: code, message: message};
  }

  // CardFields are the three inputs of a mounted element.
  function CardFields(root, id) {
    var self = this;
    root.innerHTML = '';
    var group = document.createElement('div');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Card details');
    group.className = 'StripeElement';
    root.appendChild(group);

    function field(key, label, attrs) {
      var wrap = document.createElement('div');
      wrap.style.margin = '0 0 .5em';
      var l = document.createElement('label');
      l.htmlFor = id + '-' + key;
      l.textContent = label;
      l.style.display = 'block';
      var input = document.createElement('input');
      input.id = id + '-' + key;
      input.type = 'text';
      input.inputMode = 'numeric';
      input.spellcheck = false;
      Object.keys(attrs).forEach(function (k) { input.setAttribute(k, attrs[k]); });
      wrap.appendChild(l);
      wrap.appendChild(input);
      group.appendChild(wrap);
      return input;
    }
    this.number = field('number', 'Card number',
      {autocomplete: 'cc-number', placeholder: '1234 1234 1234 1234', maxlength: '23'});
    this.expiry = field('expiry', 'Expiration date (MM / YY)',
      {autocomplete: 'cc-exp', placeholder: 'MM / YY', maxlength: '7'});
    this.cvc = field('cvc', 'Security code (CVC)',
      {autocomplete: 'cc-csc', placeholder: 'CVC', maxlength: '4'});

    // Group the number in fours and the expiry as MM / YY while typing.
    this.number.addEventListener('input', function () {
      var d = digitsOf(self.number.value).slice(0, 19);
      self.number.value = d.replace(/(\d{4})(?=\d)/g, '$1 ');
    });
    this.expiry.addEventListener('input', function () {
      var d = digitsOf(self.expiry.value).slice(0, 4);
      self.expiry.value = d.length > 2 ? d.slice(0, 2) + ' / ' + d.slice(2) : d;
    });
    this.cvc.addEventListener('input', function () {
      self.cvc.value = digitsOf(self.cvc.value).slice(0, 4);
    });
  }

  // read returns the card the inputs hold, or the first problem with it.
  CardFields.prototype.read = function () {
    var number = digitsOf(this.number.value);
    var exp = digitsOf(this.expiry.value);
    var cvc = digitsOf(this.cvc.value);
    var brand = cardBrand(number);
    var card = {number: number, exp_month: exp.slice(0, 2), exp_year: exp.slice(2), cvc: cvc};
    var problem = null, field = null;
    var now = new Date();
    var month = Number(card.exp_month), year = 2000 + Number(card.exp_year);
    if (number.length < 13) {
      problem = validationError('incomplete_number', 'Your card number is incomplete.');
      field = this.number;
    } else if (!luhn(number)) {
      problem = validationError('invalid_number', 'Your card number is invalid.');
      field = this.number;
    } else if (exp.length !== 4) {
      problem = validationError('incomplete_expiry', "Your card's expiration date is incomplete.");
      field = this.expiry;
    } else if (month < 1 || month > 12) {
      problem = validationError('invalid_expiry_month', "Your card's expiration date is invalid.");
      field = this.expiry;
    } else if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      problem = validationError('invalid_expiry_year_past', "Your card's expiration date is in the past.");
      field = this.expiry;
    } else if (cvc.length !== (brand === 'amex' ? 4 : 3)) {
      problem = validationError('incomplete_cvc', "Your card's security code is incomplete.");
      field = this.cvc;
    }
    [this.number, this.expiry, this.cvc].forEach(function (input) {
      input.setAttribute('aria-invalid', String(input === field && input.value !== ''));
    });
    return {card: card, brand: brand, error: problem,
      empty: number === '' && exp === '' && cvc === ''};
  };

  // Element is what elements.create returns.
  function Element(type) {
    this.type = type;
    this.listeners = {};
    this.fields = null;
  }

  Element.prototype.on = function (event, handler) {
    (this.listeners[event] = this.listeners[event] || []).push(handler);
    return this;
  };

  Element.prototype.emit = function (event, payload) {
    (this.listeners[event] || []).forEach(function (h) { h(payload); });
  };

  Element.prototype.mount = function (target) {
    var node = typeof target === 'string' ? document.querySelector(target) : target;
    if (!node) {
      throw new Error('stripetest Stripe.js: mount: no element matches ' + target);
    }
    var self = this;
    this.fields = new CardFields(node, 'stripe-' + this.type + '-' + (++nextID));
    this.node = node;
    [this.fields.number, this.fields.expiry, this.fields.cvc].forEach(function (input) {
      input.addEventListener('input', function () {
        var r = self.fields.read();
        var change = {elementType: self.type, empty: r.empty, complete: !r.error,
          error: r.error && !r.empty ? r.error : undefined, brand: r.brand};
        if (self.type === 'payment') change.value = {type: 'card'};
        self.emit('change', change);
      });
      input.addEventListener('focus', function () { self.emit('focus', {elementType: self.type}); });
      input.addEventListener('blur', function () { self.emit('blur', {elementType: self.type}); });
    });
    setTimeout(function () { self.emit('ready', {elementType: self.type}); }, 0);
  };

  Element.prototype.unmount = function () {
    if (this.node) this.node.innerHTML = '';
    this.node = null;
    this.fields = null;
  };

  // Elements is what stripe.elements returns. Its options (appearance,
  // mode, amount, …) shape Stripe's iframe; the stand-in has none to shape.
  function Elements() {
    this.created = [];
  }

  Elements.prototype.create = function (type) {
    if (type !== 'card' && type !== 'payment') {
      throw new Error("stripetest Stripe.js: element type '" + type + "' is not emulated (card and payment are)");
    }
    var el = new Element(type);
    this.created.push(el);
    return el;
  };

  Elements.prototype.getElement = function (type) {
    for (var i = 0; i < this.created.length; i++) {
      if (this.created[i].type === type) return this.created[i];
    }
    return null;
  };

  // submit validates the Payment Element, as Stripe requires before
  // createPaymentMethod with elements.
  Elements.prototype.submit = function () {
    var el = this.getElement('payment') || this.getElement('card');
    var r = el && el.fields ? el.fields.read() : {error: validationError('incomplete', 'No payment element is mounted.')};
    return Promise.resolve(r.error ? {error: r.error} : {});
  };

  // encode writes nested objects in Stripe's bracket form:
  // billing_details[name]=Jane.
  function encode(obj, prefix, out) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v === undefined || v === null) return;
      var key = prefix ? prefix + '[' + k + ']' : k;
      if (typeof v === 'object') {
        encode(v, key, out);
      } else {
        out.push(encodeURIComponent(key) + '=' + encodeURIComponent(v));
      }
    });
    return out;
  }

  function StripeStandIn(key, options) {
    if (!/^pk_(test|live)_/.test(String(key))) {
      throw new Error('stripetest Stripe.js: Stripe() takes a publishable key (pk_test_…)');
    }
    this.key = key;
    this.account = options && options.stripeAccount;
  }

  StripeStandIn.prototype.elements = function () {
    return new Elements();
  };

  StripeStandIn.prototype.createPaymentMethod = function (data) {
    var element = data.card;
    var params = data;
    if (data.elements) {
      element = data.elements.getElement('payment') || data.elements.getElement('card');
      params = data.params || {};
    }
    if ((data.type && data.type !== 'card') || !element || !element.fields) {
      return Promise.resolve({error: {type: 'invalid_request_error',
        message: 'stripetest Stripe.js: createPaymentMethod needs a mounted card or payment element'}});
    }
    var r = element.fields.read();
    if (r.error) {
      return Promise.resolve({error: r.error});
    }
    var body = {type: 'card', card: r.card};
    if (params.billing_details) body.billing_details = params.billing_details;
    var headers = {
      'Authorization': 'Bearer ' + this.key,
      'Content-Type': 'application/x-www-form-urlencoded'
    };
    if (this.account) headers['Stripe-Account'] = this.account;
    return fetch(apiBase + '/v1/payment_methods', {
      method: 'POST', headers: headers, body: encode(body, '', []).join('&')
    }).then(function (resp) {
      return resp.json().then(function (json) {
        return resp.ok ? {paymentMethod: json} : {error: json.error};
      });
    }, function (err) {
      return {error: {type: 'api_connection_error', message: 'Could not reach Stripe: ' + err.message}};
    });
  };

  window.Stripe = function (key, options) {
    return new StripeStandIn(key, options);
  };
})();

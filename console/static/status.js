// The status page refreshes itself: every 10 seconds, while the tab is
// shown, it fetches the page again and swaps in its main content, so the
// figures move without a reload and the place on the page is kept. The
// page is whole without this script (JavaScript off, or a reload shows
// the same). Nothing is swapped while a control in the page has the
// focus, so a Retry about to be pressed is not replaced under the pointer.
(function () {
  'use strict';
  var main = document.getElementById('main');
  if (!main || !window.fetch || !window.DOMParser) return;

  function refresh() {
    if (document.hidden) return;
    var focused = document.activeElement;
    if (focused && focused !== document.body && main.contains(focused)) return;
    fetch(location.pathname, {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
      if (!r.ok) throw new Error(r.status); // signed out, or the daemon is away: keep what is shown
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('main');
      if (fresh) main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
    }).catch(function () {});
  }
  setInterval(refresh, 10000);
})();

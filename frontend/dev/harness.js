// Dev-only: collects console errors / uncaught exceptions into #dev-log so
// headless `chromium --dump-dom` can report them. Not part of the bundles.
(function () {
  var errors = [];
  function log(kind, args) {
    var msg = kind + ': ' + Array.prototype.map.call(args, function (a) {
      return a && a.stack ? a.stack : (typeof a === 'object' ? JSON.stringify(a) : String(a));
    }).join(' ');
    errors.push(msg);
    var el = document.getElementById('dev-log');
    if (el) el.textContent = errors.join('\n');
  }
  var origError = console.error;
  console.error = function () { log('console.error', arguments); origError.apply(console, arguments); };
  window.addEventListener('error', function (e) { log('uncaught', [e.error || e.message]); });
  window.addEventListener('unhandledrejection', function (e) { log('unhandledrejection', [e.reason]); });
  window.devErrors = errors;
  window.devResult = function (text) {
    var el = document.getElementById('dev-result');
    if (el) el.textContent = text;
  };
})();

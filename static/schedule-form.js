// The schedule form: while "Restore drill" is chosen, the backup-only fields (kind, drill
// cadence, retention) are disabled, so they are not sent (a drill schedule refuses retention).
// Without scripts the fields are sent, and a drill schedule with retention is refused with a
// message next to the field.
(function () {
  function sync(form) {
    var drill = form.querySelector('input[name="action"][value="drill"]');
    var part = form.querySelector('.backup-only');
    if (!drill || !part) return;
    part.querySelectorAll('input, select').forEach(function (field) {
      field.disabled = drill.checked;
    });
    part.hidden = drill.checked;
    // A drill schedule turned into a backup one starts from the 30 days a new one proposes.
    var days = part.querySelector('input[name="retention_days"]');
    if (!drill.checked && days && days.value === '') days.value = '30';
  }
  document.addEventListener('DOMContentLoaded', function () {
    var form = document.querySelector('#schedule-form form');
    if (!form) return;
    form.querySelectorAll('input[name="action"]').forEach(function (radio) {
      radio.addEventListener('change', function () { sync(form); });
    });
    // A drill refused for its retention (sent without this script) keeps those fields in
    // view, with their messages, until the action is changed.
    var refused = Array.prototype.some.call(
      form.querySelectorAll('.backup-only .field-error'),
      function (message) { return message.textContent.trim() !== ''; });
    if (!refused) sync(form);
  });
})();

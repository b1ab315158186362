// The explore form: "copy as bin/query command", and the values of a key offered while typing
// a filter ("site=" offers the sites with their jobs under the other filters).
(function () {
  const copy = document.getElementById("copy");
  const command = document.getElementById("command");
  if (copy && command) {
    copy.addEventListener("click", function () {
      const text = command.textContent;
      const done = function () { copy.textContent = "copied"; setTimeout(function () { copy.textContent = "copy as bin/query command"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(command); });
      } else {
        select(command);
        try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user copies */ }
      }
    });
  }
  function select(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  const form = document.getElementById("question");
  const values = document.getElementById("values");
  if (!form || !values) return;
  const keys = Array.from(values.options).map(function (o) { return o.value; });
  let asked = null;
  form.addEventListener("input", function (event) {
    const field = event.target;
    if (!field.classList.contains("filter")) return;
    const match = /^\s*([A-Za-z_]+)\s*(!=|=|~|!~)/.exec(field.value);
    if (!match || asked === match[1]) return;
    asked = match[1];
    const params = new URLSearchParams(new FormData(form));
    params.set("key", match[1]);
    params.delete("w");
    Array.from(form.querySelectorAll("input.filter")).forEach(function (f) { if (f !== field && f.value.trim()) params.append("w", f.value); });
    fetch(form.dataset.suggest + "?" + params.toString()).then(function (r) { return r.json(); }).then(function (answer) {
      if (!answer.values) return;
      values.innerHTML = "";
      answer.values.forEach(function (v) {
        const option = document.createElement("option");
        option.value = v.filter;
        option.label = v.count.toLocaleString() + " jobs" + (v.description ? " · " + v.description : "");
        values.appendChild(option);
      });
      keys.forEach(function (k) { const o = document.createElement("option"); o.value = k; values.appendChild(o); });
    });
  });
})();

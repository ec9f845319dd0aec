// Progress for long exports: stream the download with fetch(), count the lines as they
// arrive against the estimate the page shows, then hand the file to the browser. Without
// JavaScript the links are ordinary downloads.
(function () {
  "use strict";
  var script = document.currentScript;
  var text = {
    entries: script.dataset.entries,
    done: script.dataset.done,
    failed: script.dataset.failed,
  };
  var box = document.getElementById("export-progress");
  var bar = document.getElementById("export-bar");
  var status = document.getElementById("export-status");
  if (!box || !window.fetch || !window.ReadableStream) return;

  function run(link) {
    var csv = /\.csv(\?|$)/.test(link.getAttribute("href"));
    box.hidden = false;
    bar.value = 0;
    status.textContent = "0 " + text.entries;
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      var reader = response.body.getReader();
      var parts = [];
      var lines = 0;
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) return;
          parts.push(step.value);
          for (var i = 0; i < step.value.length; i++) if (step.value[i] === 10) lines++;
          var n = csv ? Math.max(0, lines - 1) : lines;
          if (n > bar.max) bar.max = n;
          bar.value = n;
          status.textContent = n + " " + text.entries;
          return pump();
        });
      }
      return pump().then(function () {
        var blob = new Blob(parts, { type: response.headers.get("Content-Type") || "" });
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = link.dataset.name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        bar.value = bar.max;
        status.textContent = text.done + ": " + bar.value + " " + text.entries;
      });
    }).catch(function (err) {
      status.textContent = text.failed + ": " + err.message;
    });
  }

  document.querySelectorAll("a.export-link").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      run(link);
    });
  });
})();

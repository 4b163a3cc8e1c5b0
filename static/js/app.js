// Vantage: optional enhancements. Every page works without this script.
// - results pages: a "Copy link" button beside the share link, and while a
//   scan runs, a progress bar with the count of decided ports and an ETA.
// The script is loaded async so it runs while a results page still streams.
(function () {
  "use strict";

  function copyButton() {
    var input = document.getElementById("share");
    if (!input || input.dataset.enhanced) return;
    input.dataset.enhanced = "1";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = "Copy link";
    var status = document.createElement("span");
    status.className = "hint";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      var done = function () { status.textContent = "Link copied."; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          input.select();
          status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link.";
        });
      } else {
        input.select();
        status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link.";
      }
    });
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", button);
  }

  function progress() {
    var box = document.getElementById("progress");
    var table = document.querySelector("table[data-total]");
    // The table may be half-parsed: wait until its body exists.
    if (!box || !table || !table.tBodies[0] || box.dataset.enhanced) return;
    box.dataset.enhanced = "1";
    var total = parseInt(table.dataset.total, 10) || 0;
    var bar = document.createElement("progress");
    bar.max = total;
    bar.value = 0;
    bar.setAttribute("aria-label", "Ports decided");
    var text = document.createElement("span");
    box.appendChild(bar);
    box.appendChild(text);
    box.hidden = false;
    var started = Date.now();
    function update() {
      var done = table.querySelectorAll("tbody tr").length;
      bar.value = done;
      if (document.getElementById("summary")) {
        text.textContent = " " + done + " of " + total + " ports decided. Scan finished.";
        return true;
      }
      var msg = " " + done + " of " + total + " ports decided";
      var elapsed = (Date.now() - started) / 1000;
      if (done > 0 && done < total && elapsed > 1) {
        var eta = Math.ceil(elapsed / done * (total - done));
        msg += ", about " + eta + " s to go (silent ports are listed last)";
      }
      text.textContent = msg + ".";
      return false;
    }
    update();
    // Watch only where rows and the summary arrive: the progress text
    // itself changes, and watching it would feed the observer its own edits.
    var observer = new MutationObserver(function () {
      if (update()) observer.disconnect();
    });
    observer.observe(table.tBodies[0], { childList: true });
    var main = document.getElementById("main");
    if (main) observer.observe(main, { childList: true });
  }

  function enhance() {
    copyButton();
    progress();
  }

  // Parts of a streamed page arrive over time: try at once, as nodes
  // arrive, and when parsing ends.
  enhance();
  if (document.readyState === "loading") {
    var early = new MutationObserver(enhance);
    early.observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", function () {
      early.disconnect();
      enhance();
    });
  }
})();

// Runs before first paint (a classic script in <head>): applies the saved or preferred theme.
(function () {
  "use strict";
  var saved = null;
  try { saved = window.localStorage.getItem("decnet.theme"); } catch (e) { saved = null; }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = saved === "light" || saved === "dark" ? saved : (dark ? "dark" : "light");
  // If the modules never start (a file failed to load), say so instead of "Loading..." forever.
  window.setTimeout(function () {
    var main = document.getElementById("main");
    if (document.documentElement.dataset.booted || !main) return;
    var text = document.createElement("p");
    text.className = "booting";
    text.textContent = "The console did not start: a file failed to load. ";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "button";
    again.textContent = "Reload";
    again.addEventListener("click", function () { window.location.reload(); });
    text.appendChild(again);
    main.replaceChildren(text);
  }, 10000);
})();

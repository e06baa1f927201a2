// Runs before first paint (a classic script in <head>): applies the saved or preferred theme.
(function () {
  "use strict";
  var saved = null;
  try { saved = window.localStorage.getItem("decnet.theme"); } catch (e) { saved = null; }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = saved === "light" || saved === "dark" ? saved : (dark ? "dark" : "light");
})();

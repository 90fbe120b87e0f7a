// The demo page's one behaviour: its call-to-action opens the widget.
document.getElementById("ask-cta").addEventListener("click", function () {
  if (window.NewsragWidget) window.NewsragWidget.open();
});

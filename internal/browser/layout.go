package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Layout is how one HTML document lays out in a viewport of a given width.
type Layout struct {
	ClientWidth  int `json:"clientWidth"`  // the viewport width the document got
	ScrollWidth  int `json:"scrollWidth"`  // the document's full width; > ClientWidth: it scrolls sideways
	ScrollHeight int `json:"scrollHeight"` // the document's full height
	// Outside describes (up to 10) elements and text runs that reach
	// beyond the viewport's left or right edge, outermost first.
	Outside []string `json:"outside"`
	Error   string   `json:"error"`
}

// Overflows reports whether the document is wider than its viewport or has
// something outside it horizontally.
func (l Layout) Overflows() bool { return l.ScrollWidth > l.ClientWidth || len(l.Outside) > 0 }

// measureScript measures every iframe of the page once everything has
// loaded and writes the results, as JSON, into <pre id="result">.
const measureScript = `<script>
window.addEventListener("load", function () {
  function cut(s, n) { s = s.replace(/\s+/g, " ").trim(); return s.length > n ? s.slice(0, n) + "…" : s; }
  function describe(el, r) {
    var s = "<" + el.tagName.toLowerCase();
    var st = el.getAttribute("style");
    if (st) s += ' style="' + cut(st, 90) + '"';
    s += ">";
    var text = cut(el.textContent || "", 50);
    if (text) s += " " + JSON.stringify(text);
    return s + " spans x=" + Math.round(r.left) + ".." + Math.round(r.right) + "px";
  }
  var out = [];
  var frames = document.getElementsByTagName("iframe");
  for (var i = 0; i < frames.length; i++) {
    var res = {outside: []};
    try {
      var d = frames[i].contentDocument, de = d.documentElement, b = d.body;
      var vw = de.clientWidth;
      res.clientWidth = vw;
      res.scrollWidth = Math.max(de.scrollWidth, b ? b.scrollWidth : 0);
      res.scrollHeight = Math.max(de.scrollHeight, b ? b.scrollHeight : 0);
      var outside = function (r) { return r.width > 0 && r.height > 0 && (r.right > vw + 0.5 || r.left < -0.5); };
      var els = b ? b.getElementsByTagName("*") : [];
      for (var j = 0; j < els.length && res.outside.length < 10; j++) {
        var r = els[j].getBoundingClientRect();
        if (outside(r)) res.outside.push(describe(els[j], r));
      }
      // Text that overflows its box leaves the box's rectangle alone.
      var walk = d.createTreeWalker(b || de, NodeFilter.SHOW_TEXT), n, range = d.createRange();
      while ((n = walk.nextNode()) && res.outside.length < 10) {
        range.selectNodeContents(n);
        var rt = range.getBoundingClientRect();
        if (outside(rt)) res.outside.push("text " + JSON.stringify(cut(n.data, 50)) + " in " + describe(n.parentElement, rt));
      }
    } catch (e) {
      res.error = String(e);
    }
    out.push(res);
  }
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script>`

// Measure lays out each of the HTML documents in a viewport width×height
// CSS pixels large, all in one Chromium run (each in an iframe of that
// size), and returns their layouts in order.
func Measure(ctx context.Context, docs []string, width, height int) ([]Layout, error) {
	dir, err := os.MkdirTemp("", "leadworker-measure-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var page strings.Builder
	page.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">\n")
	for _, doc := range docs {
		// A srcdoc document shares the page's origin, so the script can look
		// inside it even though the page is a file:// URL.
		fmt.Fprintf(&page, "<iframe loading=\"eager\" style=\"display:block; border:0; margin:0; width:%dpx; height:%dpx\" srcdoc=\"%s\"></iframe>\n",
			width, height, html.EscapeString(doc))
	}
	page.WriteString("<pre id=\"result\"></pre>\n" + measureScript + "\n</body></html>\n")
	path := filepath.Join(dir, "measure.html")
	if err := os.WriteFile(path, []byte(page.String()), 0o644); err != nil {
		return nil, err
	}
	u, err := FileURL(path)
	if err != nil {
		return nil, err
	}
	dom, err := DumpDOM(ctx, u, width, height, 5*time.Second)
	if err != nil {
		return nil, err
	}
	const open, end = `<pre id="result">`, `</pre>`
	i := strings.LastIndex(dom, open)
	if i < 0 {
		return nil, fmt.Errorf("chromium's DOM dump has no measurements (%d bytes)", len(dom))
	}
	raw, _, ok := strings.Cut(dom[i+len(open):], end)
	if !ok || raw == "" {
		return nil, fmt.Errorf("the measuring script wrote nothing (did the page finish loading?)")
	}
	var out []Layout
	if err := json.Unmarshal([]byte(html.UnescapeString(raw)), &out); err != nil {
		return nil, fmt.Errorf("measurements: %w", err)
	}
	if len(out) != len(docs) {
		return nil, fmt.Errorf("measured %d documents, want %d", len(out), len(docs))
	}
	for i, l := range out {
		if l.Error != "" {
			return nil, fmt.Errorf("document %d: %s", i, l.Error)
		}
	}
	return out, nil
}

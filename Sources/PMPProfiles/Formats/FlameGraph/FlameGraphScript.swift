/// The flame graph's inline script: click a frame to zoom to it (its callers are kept across the full width,
/// dimmed; everything beside it is hidden), click the root to zoom out. Labels are cut again to the new widths
/// with the same rule as `FlameGraphRenderer.label`.
enum FlameGraphScript {
    static func element(plotLeft: Double, plotWidth: Double, characterWidth: Double) -> String {
        """
        <script type="text/ecmascript"><![CDATA[
        (function () {
          var left = \(plotLeft), width = \(plotWidth), charWidth = \(characterWidth);
          var frames = Array.prototype.slice.call(document.querySelectorAll("g.f")).map(function (g) {
            var rect = g.querySelector("rect"), title = g.querySelector("title").textContent;
            return { g: g, rect: rect, text: g.querySelector("text"), name: title.slice(0, title.lastIndexOf(" (")),
                     x: +rect.getAttribute("x"), w: +rect.getAttribute("width"), y: +rect.getAttribute("y") };
          });
          function fit(name, w) {
            var n = Math.floor((w - 6) / charWidth);
            if (n < 3) return "";
            return name.length <= n ? name : name.slice(0, n - 2) + "..";
          }
          function zoom(target) {
            var eps = 1e-6, scale = width / target.w;
            frames.forEach(function (f) {
              var inside = f.x >= target.x - eps && f.x + f.w <= target.x + target.w + eps;
              var covers = f.x <= target.x + eps && f.x + f.w >= target.x + target.w - eps;
              var x, w;
              if (f.y <= target.y && inside) { x = left + (f.x - target.x) * scale; w = f.w * scale; f.g.style.opacity = ""; }
              else if (f.y > target.y && covers) { x = left; w = width; f.g.style.opacity = "0.6"; }
              else { f.g.style.display = "none"; return; }
              f.g.style.display = "";
              f.rect.setAttribute("x", x.toFixed(2));
              f.rect.setAttribute("width", w.toFixed(2));
              f.text.setAttribute("x", (x + 3).toFixed(2));
              f.text.textContent = fit(f.name, w);
            });
          }
          frames.forEach(function (f) { f.g.addEventListener("click", function () { zoom(f); }); });
        })();
        ]]></script>

        """
    }
}

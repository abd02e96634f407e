/* The field-arithmetic explorer (chapter 1): kernel, stride, padding, dilation, depth and
 * input size in, the table of rf_table and the middle unit's field out, computed in the
 * page. Loaded after explorers.js, in whose registry it puts itself (it needs no data from the book).
 * State lives in data-* attributes of the root (rows, drawn). */
(function () {
  "use strict";

  /* The input pixels (0..n-1, padding included as negatives and >= n) that unit u of the
   * last layer reads: the taps of every kernel, layer by layer back to the input. A dilated
   * kernel skips pixels, so the field (rf wide) can have holes. */
  function touched(specs, u) {
    var seen = {}, set = [u];
    for (var l = specs.length - 1; l >= 0; l--) {
      var s = specs[l], next = {};
      set.forEach(function (p) {
        for (var t = 0; t < s.kernel; t++) next[p * s.stride - s.padding + t * s.dilation] = true;
      });
      set = Object.keys(next).map(Number);
    }
    set.forEach(function (p) { seen[p] = true; });
    return seen;
  }

  /* root: the explorer's element; m: null (no data); h: explorers.js's helpers */
  function fieldArithmetic(root, m, h) {
    var controls = {
      kernel: h.numberInput("kernel", 3, 1, 7), stride: h.numberInput("stride", 1, 1, 3),
      padding: h.numberInput("padding", 1, 0, 3), dilation: h.numberInput("dilation", 1, 1, 3),
      depth: h.numberInput("depth", 3, 1, 6), input: h.numberInput("input size", 24, 1, 96)
    };
    var table = h.el("table", { "class": "vgg-rf-table" });
    var diagram = h.canvas(96 * 8, 60, "vgg-diagram", "the middle unit's field on the input");
    var info = h.stateSentence();
    var draw = h.guard(root, update);
    var last = { kernel: 3, stride: 1, padding: 1, dilation: 1, depth: 3, input: 24 };
    root.appendChild(h.el("div", { "class": "vgg-controls" }, Object.keys(controls).map(function (k) {
      controls[k].addEventListener("input", draw);
      controls[k].addEventListener("change", function () {  /* leaving a wrong field: its last good value */
        if (h.readInteger(controls[k], k) === null) { controls[k].value = last[k]; draw(); }
      });
      return h.field(k === "input" ? "input size" : k, controls[k]);
    })));
    root.appendChild(h.el("div", { "class": "vgg-table-box" }, [table]));
    root.appendChild(diagram);
    root.appendChild(info);

    var draws = 0;

    function update() {
      root.dataset.drawn = String(++draws);
      var bad = Object.keys(controls).filter(function (k) {
        var v = h.readInteger(controls[k], k === "input" ? "input size" : k);
        if (v !== null) last[k] = v;
        return v === null;
      });
      if (bad.length) {  /* keep the last table; say what to type */
        root.dataset.invalid = bad.join(",");
        info.textContent = bad.map(function (k) { return controls[k].title; }).join("; ") + ".";
        return;
      }
      delete root.dataset.invalid;
      var specs = [], depth = last.depth, n = last.input;
      for (var i = 1; i <= depth; i++) {
        specs.push({ name: "layer" + i, kind: "conv", kernel: last.kernel, stride: last.stride,
                     padding: last.padding, dilation: last.dilation });
      }
      var rows = h.rfTable(specs, n);
      var empty = rows.findIndex(function (r) { return r.out_size < 1; });
      var shown = empty < 0 ? rows : rows.slice(0, empty);  /* no row for a layer with no output */
      var head = ["name", "out_size", "jump", "rf", "start"];
      table.innerHTML = "";
      table.appendChild(h.el("thead", {}, [h.el("tr", {}, head.map(function (key) { return h.el("th", { text: key }); }))]));
      table.appendChild(h.el("tbody", {}, shown.map(function (r) {
        return h.el("tr", {}, head.map(function (key) { return h.el("td", { text: String(r[key]) }); }));
      })));
      root.dataset.rows = JSON.stringify(shown);
      var ctx = diagram.getContext("2d"), px = Math.max(4, Math.floor(diagram.width / Math.max(n, 1)));
      ctx.clearRect(0, 0, diagram.width, diagram.height);
      if (empty >= 0) {
        var need = specs[empty];
        info.textContent = "The " + n + "-pixel input is too small: " + need.name + " gets " +
          (empty ? rows[empty - 1].out_size : n) + " pixels, too few for its " + need.kernel + "-pixel kernel" +
          (need.dilation > 1 ? " (dilation " + need.dilation + ")" : "") + " with padding " + need.padding +
          ", and leaves no output. Make the input larger or the stack shallower.";
        return;
      }
      var end = rows[rows.length - 1];
      var unit = (end.out_size - 1) >> 1, centre = end.start + unit * end.jump;
      var lo = centre - (end.rf - 1) / 2, hi = centre + (end.rf - 1) / 2;
      var reads = touched(specs, unit), holes = 0;
      for (var q = lo; q <= hi; q++) if (!reads[q]) holes++;
      root.dataset.holes = String(holes);
      for (var p = 0; p < n; p++) {
        var inField = p >= lo && p <= hi;
        ctx.fillStyle = !inField ? "#d9d9d9" : reads[p] ? "#3b75af" : "#ffffff";
        ctx.fillRect(p * px + 1, 20, px - 2, 20);
        if (inField && !reads[p]) {  /* a hole: outlined in the field's colour */
          ctx.strokeStyle = "#3b75af";
          ctx.lineWidth = 1;
          ctx.strokeRect(p * px + 1.5, 20.5, px - 3, 19);
        }
      }
      diagram.setAttribute("aria-label", "input pixels 0 to " + (n - 1) + "; the middle unit's field, " + lo +
        " to " + hi + ", is blue" + (holes ? ", with " + holes + " holes (white) that it never reads" : ""));
      info.textContent = "The middle unit (" + unit + ") of " + end.name + " sees input pixels " + lo +
        " to " + hi + " (blue; beyond the edges: padding): a field of " + end.rf + " pixels" +
        (holes ? ", of which it reads " + (end.rf - holes) + ": the " + holes + " white pixels are holes " +
          "left by the dilated kernels." : ".");
    }
    root.update = draw;
    update();
    return Promise.resolve();
  }

  window.VGGLessons.register("field-arithmetic", fieldArithmetic, { data: false });
})();

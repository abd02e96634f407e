/* The field-arithmetic explorer (chapter 1): kernel, stride, padding, dilation, depth and
 * input size in, the table of rf_table and the middle unit's field out, computed in the
 * page. Loaded after explorers.js, in whose registry it puts itself (it needs no data from the book).
 * State lives in data-* attributes of the root (rows, drawn). */
(function () {
  "use strict";

  /* root: the explorer's element; m: null (no data); h: explorers.js's helpers */
  function fieldArithmetic(root, m, h) {
    var controls = {
      kernel: h.numberInput("kernel", 3, 1, 7), stride: h.numberInput("stride", 1, 1, 3),
      padding: h.numberInput("padding", 1, 0, 3), dilation: h.numberInput("dilation", 1, 1, 3),
      depth: h.numberInput("depth", 3, 1, 6), input: h.numberInput("input size", 24, 1, 96)
    };
    var table = h.el("table", { "class": "vgg-rf-table" });
    var diagram = h.canvas(96 * 8, 60, "vgg-diagram", "the middle unit's field on the input");
    var info = h.el("p", { "class": "vgg-info" });
    root.appendChild(h.el("div", { "class": "vgg-controls" }, Object.keys(controls).map(function (k) {
      controls[k].addEventListener("input", update);
      return h.field(k === "input" ? "input size" : k, controls[k]);
    })));
    root.appendChild(h.el("div", { "class": "vgg-table-box" }, [table]));
    root.appendChild(diagram);
    root.appendChild(info);

    function value(k) { return parseInt(controls[k].value, 10); }
    var draws = 0;

    function update() {
      var specs = [], depth = value("depth"), n = value("input");
      for (var i = 1; i <= depth; i++) {
        specs.push({ name: "layer" + i, kind: "conv", kernel: value("kernel"), stride: value("stride"),
                     padding: value("padding"), dilation: value("dilation") });
      }
      var rows = h.rfTable(specs, n);
      var head = ["name", "out_size", "jump", "rf", "start"];
      table.innerHTML = "";
      table.appendChild(h.el("thead", {}, [h.el("tr", {}, head.map(function (key) { return h.el("th", { text: key }); }))]));
      table.appendChild(h.el("tbody", {}, rows.map(function (r) {
        return h.el("tr", {}, head.map(function (key) { return h.el("td", { text: String(r[key]) }); }));
      })));
      var last = rows[rows.length - 1];
      root.dataset.rows = JSON.stringify(rows);
      root.dataset.drawn = String(++draws);
      var ctx = diagram.getContext("2d"), px = Math.max(4, Math.floor(diagram.width / Math.max(n, 1)));
      ctx.clearRect(0, 0, diagram.width, diagram.height);
      if (last.out_size < 1) {
        info.textContent = "These layers leave no output for a " + n + "-pixel input: make the input larger.";
        return;
      }
      var unit = (last.out_size - 1) >> 1, centre = last.start + unit * last.jump;
      var lo = centre - (last.rf - 1) / 2, hi = centre + (last.rf - 1) / 2;
      for (var p = 0; p < n; p++) {
        ctx.fillStyle = p >= lo && p <= hi ? "#3b75af" : "#d9d9d9";
        ctx.fillRect(p * px + 1, 20, px - 2, 20);
      }
      info.textContent = "The middle unit (" + unit + ") of " + last.name + " sees input pixels " + lo +
        " to " + hi + " (blue; beyond the edges: padding): a field of " + last.rf + " pixels.";
    }
    root.update = update;
    update();
    return Promise.resolve();
  }

  window.VGGLessons.register("field-arithmetic", fieldArithmetic, { data: false });
})();

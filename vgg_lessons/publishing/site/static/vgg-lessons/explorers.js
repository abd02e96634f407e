/* The book's in-page explorers: plain JavaScript, no framework, no network but the book's
 * own files. Data comes from ../../_explorers/ (written when the book is built by
 * vgg_lessons.publishing.site): manifest.js sets window.VGG_EXPLORER_DATA; sprites are drawn with
 * drawImage only (a canvas fed from file:// images must never be read back).
 * Each explorer keeps its state in data-* attributes of its root (tests read them). Two live
 * in files of their own (explorers-*.js), loaded first, in window.VGG_EXPLORER_BUILDERS. */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = new URL("../../_explorers/", script ? script.src : location.href).href;
  var images = {};
  var manifestPromise = null;

  /* ---- loading ---------------------------------------------------------------------- */
  function loadManifest() {
    if (!manifestPromise) {
      manifestPromise = new Promise(function (resolve, reject) {
        if (window.VGG_EXPLORER_DATA) { resolve(window.VGG_EXPLORER_DATA); return; }
        var tag = document.createElement("script");
        tag.src = BASE + "manifest.js";
        tag.onload = function () { resolve(window.VGG_EXPLORER_DATA); };
        tag.onerror = function () { reject(new Error("could not load " + tag.src)); };
        document.head.appendChild(tag);
      });
    }
    return manifestPromise;
  }

  function loadImage(name) {
    if (!images[name]) {
      images[name] = new Promise(function (resolve, reject) {
        var img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = function () { reject(new Error("could not load " + name)); };
        img.src = BASE + name;
      });
    }
    return images[name];
  }

  /* ---- small DOM helpers ------------------------------------------------------------ */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function canvas(width, height, cls, label) {
    var c = el("canvas", { width: width, height: height, "class": cls || "", "aria-label": label || "" });
    c.getContext("2d").imageSmoothingEnabled = false;
    return c;
  }

  function select(label, options, value) {
    var s = el("select", { "aria-label": label });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }

  function field(label, control) {
    return el("label", { "class": "vgg-field" }, [el("span", { text: label }), control]);
  }

  function numberInput(label, value, min, max) {
    return el("input", { type: "number", value: value, min: min, max: max, step: 1, "aria-label": label });
  }

  /* ---- receptive-field arithmetic (as receptive_field.rf_table) ---------------------- */
  function outputSize(n, k, s, p, d, ceilMode) {
    var span = n + 2 * p - (d * (k - 1) + 1);
    var out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceilMode && (out - 1) * s >= n + p) out -= 1;
    return out;
  }

  /* specs: [{name, kind, kernel, stride, padding, dilation}] -> rows with out_size, jump, rf, start */
  function rfTable(specs, inputSize) {
    var jump = 1, rf = 1, start = 0, n = inputSize;
    return specs.map(function (s) {
      var keff = (s.dilation || 1) * (s.kernel - 1) + 1;
      if (n !== null) n = outputSize(n, s.kernel, s.stride, s.padding, s.dilation || 1, !!s.ceil_mode);
      start = start + ((keff - 1) / 2 - s.padding) * jump;
      rf = rf + (keff - 1) * jump;
      jump = jump * s.stride;
      return { name: s.name, kind: s.kind, kernel: s.kernel, stride: s.stride, padding: s.padding,
               dilation: s.dilation || 1, out_size: n, jump: jump, rf: rf, start: start };
    });
  }

  /* The unclipped field of unit (row, col) as [y0, x0, y1, x1], in input pixel edges. */
  function unitField(geometryRow, row, col) {
    var half = (geometryRow.rf - 1) / 2;
    var cy = geometryRow.start + row * geometryRow.jump, cx = geometryRow.start + col * geometryRow.jump;
    return [cy - half, cx - half, cy + half + 1, cx + half + 1];
  }

  /* ---- shared pieces: the image picker and a map tile ------------------------------- */
  function imagePicker(m, onPick) {
    var box = el("div", { "class": "vgg-thumbs", role: "group", "aria-label": "test image" });
    var n = m.images.test_index.length, buttons = [];
    loadImage(m.images.sprite).then(function (sprite) {
      for (var i = 0; i < n; i++) {
        var s = m.input_size, c = canvas(s, s);
        c.getContext("2d").drawImage(sprite, s * i, 0, s, s, 0, 0, s, s);
        var wrong = m.maps.predicted.trained[i] !== m.images.labels[i];
        var b = el("button", { type: "button", "data-index": i, "class": wrong ? "vgg-wrong" : "",
                               title: m.classes[m.images.labels[i]] + (wrong ? " (predicted wrongly)" : "") }, [c]);
        b.addEventListener("click", onPick.bind(null, i));
        buttons.push(b);
        box.appendChild(b);
      }
    });
    box.mark = function (i) {
      buttons.forEach(function (b, j) { b.setAttribute("aria-pressed", i === j ? "true" : "false"); });
    };
    return box;
  }

  function drawInput(m, target, i) {
    return loadImage(m.images.sprite).then(function (sprite) {
      var ctx = target.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      var s = m.input_size;
      ctx.drawImage(sprite, s * i, 0, s, s, 0, 0, target.width, target.height);
    });
  }

  function tileRect(layer, channel) {
    var s = layer.size;
    return [(channel % layer.cols) * s, layer.y + Math.floor(channel / layer.cols) * s, s, s];
  }

  function layerOptions(m) {
    return m.maps.layers.map(function (l, i) {
      return [i, l.name + " (" + l.kind + ", " + l.channels + " x " + l.size + "x" + l.size + ")"];
    });
  }

  /* ---- feature maps -------------------------------------------------------------------- */
  function featureMaps(root, m) {
    var state = { image: 0, layer: 0, channel: 0, weights: "trained" };
    var input = canvas(128, 128, "vgg-input", "input image");
    var big = canvas(256, 256, "vgg-map", "selected channel");
    var grid = canvas(256, 64, "vgg-grid", "all channels of the layer (click one)");
    var layerSel = select("layer", layerOptions(m), 0);
    var weightSel = select("weights", [["trained", "trained weights"], ["random", "random weights"]], "trained");
    var channelIn = numberInput("channel", 0, 0, m.maps.layers[0].channels - 1);
    var info = el("p", { "class": "vgg-info" });
    var picker = imagePicker(m, function (i) { state.image = i; update(); });
    root.appendChild(picker);
    root.appendChild(el("div", { "class": "vgg-controls" },
      [field("Layer", layerSel), field("Channel", channelIn), field("Weights", weightSel)]));
    root.appendChild(el("div", { "class": "vgg-panels" }, [
      el("figure", {}, [input, el("figcaption", { text: "input" })]),
      el("figure", {}, [big, el("figcaption", { "class": "vgg-map-caption" })]),
      el("figure", { "class": "vgg-grid-figure" }, [grid, el("figcaption", { text: "every channel of the layer; click one" })])]));
    root.appendChild(info);
    layerSel.addEventListener("change", function () {
      state.layer = +layerSel.value;
      state.channel = Math.min(state.channel, m.maps.layers[state.layer].channels - 1);
      update();
    });
    weightSel.addEventListener("change", function () { state.weights = weightSel.value; update(); });
    channelIn.addEventListener("input", function () {
      var c = parseInt(channelIn.value, 10);
      if (c >= 0 && c < m.maps.layers[state.layer].channels) { state.channel = c; update(); }
    });
    grid.addEventListener("click", function (event) {
      var layer = m.maps.layers[state.layer], rect = grid.getBoundingClientRect();
      var scale = grid.width / rect.width, k = gridScale(layer);
      var col = Math.floor((event.clientX - rect.left) * scale / (layer.size * k));
      var row = Math.floor((event.clientY - rect.top) * scale / (layer.size * k));
      var c = row * layer.cols + col;
      if (c < layer.channels) { state.channel = c; update(); }
    });

    function gridScale(layer) { return Math.max(1, Math.floor(256 / (layer.cols * layer.size))); }

    function update() {
      var layer = m.maps.layers[state.layer], sheet = m.maps.sheets[state.weights][state.image];
      ["image", "layer", "channel", "weights"].forEach(function (k) { root.dataset[k] = state[k]; });
      root.dataset.layerName = layer.name;
      root.dataset.sheet = sheet;
      channelIn.max = layer.channels - 1;
      channelIn.value = state.channel;
      layerSel.value = state.layer;
      picker.mark(state.image);
      var range = m.maps.ranges[state.weights][state.image][state.layer];
      var top3 = m.maps.top3[state.weights][state.image].map(function (p) {
        return m.classes[p[0]] + " " + (100 * p[1]).toFixed(1) + "%";
      });
      var truth = m.classes[m.images.labels[state.image]];
      var said = m.classes[m.maps.predicted[state.weights][state.image]];
      info.textContent = "True class: " + truth + ". The " + state.weights + " model says " + said +
        (said === truth ? " (right)" : " (wrong)") + "; top 3: " + top3.join(", ") + ".";
      root.querySelector(".vgg-map-caption").textContent = layer.name + ", channel " + state.channel +
        " (" + layer.size + "x" + layer.size + "); colour scale " + range[0] + " (dark) to " + range[1] + " (yellow)";
      var t0 = performance.now();
      return Promise.all([drawInput(m, input, state.image), loadImage(sheet)]).then(function (r) {
        var img = r[1], k = gridScale(layer), rows = Math.ceil(layer.channels / layer.cols);
        var tile = tileRect(layer, state.channel);
        var ctx = big.getContext("2d");
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(img, tile[0], tile[1], tile[2], tile[3], 0, 0, big.width, big.height);
        grid.width = layer.cols * layer.size * k;
        grid.height = rows * layer.size * k;
        var g = grid.getContext("2d");
        g.imageSmoothingEnabled = false;
        g.drawImage(img, 0, layer.y, layer.cols * layer.size, rows * layer.size, 0, 0, grid.width, grid.height);
        g.strokeStyle = "#ff2d55";
        g.lineWidth = 2;
        g.strokeRect(tile[0] * k + 1, (tile[1] - layer.y) * k + 1, layer.size * k - 2, layer.size * k - 2);
        root.dataset.drawMs = (performance.now() - t0).toFixed(2);
        root.dataset.drawn = sheet + "|" + state.layer + "|" + state.channel;
      });
    }
    root.update = update;
    return update();
  }

  /* ---- receptive field ------------------------------------------------------------- */
  function receptiveField(root, m) {
    var SCALE = 8, size = m.input_size;
    var state = { image: 0, layer: 6, channel: 0, unit: null, erf: true };
    var rows = rfTable(m.geometry, size);
    var input = canvas(size * SCALE, size * SCALE, "vgg-input", "input image with the unit's field");
    var map = canvas(256, 256, "vgg-map vgg-clickable", "the layer's map: click a unit");
    var layerSel = select("layer", layerOptions(m), state.layer);
    var erfBox = el("input", { type: "checkbox", checked: "checked", "aria-label": "effective field" });
    var info = el("p", { "class": "vgg-info" });
    var picker = imagePicker(m, function (i) { state.image = i; update(); });
    root.appendChild(picker);
    root.appendChild(el("div", { "class": "vgg-controls" },
      [field("Layer", layerSel), field("Show the effective field (centre unit)", erfBox)]));
    root.appendChild(el("div", { "class": "vgg-panels" }, [
      el("figure", {}, [input, el("figcaption", { text: "input, " + size + "x" + size + " pixels" })]),
      el("figure", {}, [map, el("figcaption", { "class": "vgg-map-caption" })])]));
    root.appendChild(info);
    layerSel.addEventListener("change", function () {
      state.layer = +layerSel.value;
      var n = m.maps.layers[state.layer].size;
      state.unit = [(n - 1) >> 1, (n - 1) >> 1];
      update();
    });
    erfBox.addEventListener("change", function () { state.erf = erfBox.checked; update(); });
    map.addEventListener("click", function (event) {
      var n = m.maps.layers[state.layer].size, rect = map.getBoundingClientRect();
      var col = Math.floor((event.clientX - rect.left) / rect.width * n);
      var row = Math.floor((event.clientY - rect.top) / rect.height * n);
      state.unit = [Math.min(n - 1, Math.max(0, row)), Math.min(n - 1, Math.max(0, col))];
      update();
    });

    function update() {
      var layer = m.maps.layers[state.layer], n = layer.size, geo = rows[layer.row];
      if (!state.unit) state.unit = [(n - 1) >> 1, (n - 1) >> 1];
      var f = unitField(geo, state.unit[0], state.unit[1]);
      var centre = (n - 1) >> 1, isCentre = state.unit[0] === centre && state.unit[1] === centre;
      root.dataset.image = state.image;
      root.dataset.layerName = layer.name;
      root.dataset.unit = state.unit.join(",");
      root.dataset.field = f.join(",");
      root.dataset.rf = geo.rf;
      root.dataset.jump = geo.jump;
      root.dataset.start = geo.start;
      picker.mark(state.image);
      root.querySelector(".vgg-map-caption").textContent = layer.name + " channel 0, " + n + "x" + n +
        " units; unit (" + state.unit.join(", ") + ") is marked";
      info.textContent = "Unit (row " + state.unit[0] + ", column " + state.unit[1] + ") of " + layer.name +
        " sees input rows " + f[0] + " to " + (f[2] - 1) + " and columns " + f[1] + " to " + (f[3] - 1) +
        ": a theoretical field of " + geo.rf + "x" + geo.rf + " pixels (jump " + geo.jump + ", start " +
        geo.start + ", as in layer_table)" + (f[0] < 0 || f[2] > size ? "; the part outside the image is padding" : "") +
        (isCentre && state.erf ? ". Shaded: its effective field, measured by back-propagation." :
          ". The effective field is measured for the centre unit only.");
      return Promise.all([drawInput(m, input, state.image), loadImage(m.maps.sheets.trained[state.image]),
                          loadImage(m.erf.sprite)]).then(function (r) {
        var ctx = input.getContext("2d");
        if (isCentre && state.erf) {
          ctx.save();
          ctx.globalAlpha = 0.75;
          ctx.globalCompositeOperation = "multiply";
          ctx.drawImage(r[2], state.layer * size, 0, size, size, 0, 0, input.width, input.height);
          ctx.restore();
        }
        ctx.strokeStyle = "#ff2d55";
        ctx.lineWidth = 3;
        ctx.strokeRect(f[1] * SCALE, f[0] * SCALE, (f[3] - f[1]) * SCALE, (f[2] - f[0]) * SCALE);
        var tile = tileRect(layer, 0), g = map.getContext("2d"), k = map.width / n;
        g.imageSmoothingEnabled = false;
        g.drawImage(r[1], tile[0], tile[1], tile[2], tile[3], 0, 0, map.width, map.height);
        g.strokeStyle = "#ff2d55";
        g.lineWidth = 3;
        g.strokeRect(state.unit[1] * k + 1.5, state.unit[0] * k + 1.5, k - 3, k - 3);
        root.dataset.drawn = state.image + "|" + state.layer + "|" + state.unit.join(",");
      });
    }
    root.update = update;
    return update();
  }

  /* ---- filters ------------------------------------------------------------------------- */
  function filters(root, m) {
    var f = m.filters, deep = f.deep, state = { channel: 0 };
    var kernels = canvas(f.kernels.count * 40, 40, "vgg-kernels", "first-layer kernels");
    var painted = canvas(128, 128, "vgg-map", "activation-maximisation image");
    var tops = canvas(deep.k * 64, 64, "vgg-tops", "top test images");
    var channelIn = numberInput("channel", 0, 0, deep.channels - 1);
    var prev = el("button", { type: "button", text: "previous" });
    var next = el("button", { type: "button", text: "next" });
    var info = el("p", { "class": "vgg-info" });
    root.appendChild(el("figure", { "class": "vgg-grid-figure" }, [kernels, el("figcaption", {
      text: "The " + f.kernels.count + " kernels of " + f.kernels.layer + " (" + f.kernels.size + "x" +
        f.kernels.size + ", RGB; grey is zero, each kernel scaled on its own)" })]));
    root.appendChild(el("div", { "class": "vgg-controls" },
      [field(deep.layer + " channel", channelIn), prev, next]));
    root.appendChild(el("div", { "class": "vgg-panels" }, [
      el("figure", {}, [painted, el("figcaption", { text: "an input that drives the channel hard" })]),
      el("figure", {}, [tops, el("figcaption", { "class": "vgg-top-caption" })])]));
    root.appendChild(info);
    loadImage(f.kernels.sprite).then(function (img) {
      var ctx = kernels.getContext("2d"), s = f.kernels.size;
      ctx.imageSmoothingEnabled = false;
      for (var i = 0; i < f.kernels.count; i++) ctx.drawImage(img, i * s, 0, s, s, i * 40 + 2, 2, 36, 36);
    });
    function go(c) { if (c >= 0 && c < deep.channels) { state.channel = c; update(); } }
    channelIn.addEventListener("input", function () { go(parseInt(channelIn.value, 10)); });
    prev.addEventListener("click", function () { go(state.channel - 1); });
    next.addEventListener("click", function () { go(state.channel + 1); });

    function update() {
      var c = state.channel, chunk = Math.floor(c / deep.chunk), j = c % deep.chunk;
      root.dataset.channel = c;
      channelIn.value = c;
      var names = deep.top_labels[c].map(function (l) { return m.classes[l]; });
      root.querySelector(".vgg-top-caption").textContent = "its top " + deep.k + " of the first " +
        deep.searched + " test images: " + names.join(", ");
      info.textContent = "Channel " + c + " of " + deep.layer + " (read before its ReLU).";
      return Promise.all([loadImage(deep.actmax[chunk]), loadImage(deep.top[chunk])]).then(function (r) {
        var ctx = painted.getContext("2d");
        ctx.imageSmoothingEnabled = false;
        var s = m.input_size;
        ctx.drawImage(r[0], j * s, 0, s, s, 0, 0, 128, 128);
        var t = tops.getContext("2d");
        t.imageSmoothingEnabled = false;
        for (var i = 0; i < deep.k; i++) t.drawImage(r[1], i * s, j * s, s, s, i * 64, 0, 64, 64);
        root.dataset.drawn = "channel " + c;
      });
    }
    root.update = update;
    return update();
  }

  /* ---- start --------------------------------------------------------------------------- */
  var BUILDERS = { "feature-maps": featureMaps, "receptive-field": receptiveField, filters: filters };
  /* What an explorer in a file of its own (loaded before this one, registered in
   * window.VGG_EXPLORER_BUILDERS[kind] as function (root, manifest, helpers)) may use. */
  var HELPERS = { el: el, canvas: canvas, select: select, field: field, numberInput: numberInput,
                  loadImage: loadImage, imagePicker: imagePicker, drawInput: drawInput, rfTable: rfTable };

  /* A promise of the explorer of this kind, built in root (with the data when it needs it). */
  function build(kind, root) {
    var own = BUILDERS[kind], extra = (window.VGG_EXPLORER_BUILDERS || {})[kind];
    if (!own && !extra) return Promise.reject(new Error("this page has no script for the " + kind + " explorer"));
    if (extra && extra.withoutData) return Promise.resolve(extra(root, null, HELPERS));
    return loadManifest().then(function (m) { return own ? own(root, m) : extra(root, m, HELPERS); });
  }

  function start(root) {
    var kind = root.dataset.explorer, status = root.querySelector(".vgg-explorer-status");
    var ready = build(kind, root);
    ready.then(function () {
      if (status) status.remove();
      root.dataset.ready = "true";
    }, function (err) {
      if (status) status.textContent = "The explorer could not load its data: " + err.message;
      root.dataset.ready = "error";
    });
  }

  /* Each explorer starts (and loads its data) when it comes near the screen. */
  function startAll() {
    var roots = document.querySelectorAll(".vgg-explorer[data-explorer]");
    if (!("IntersectionObserver" in window)) { Array.prototype.forEach.call(roots, start); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { observer.unobserve(entry.target); start(entry.target); }
      });
    }, { rootMargin: "200px 0px" });
    Array.prototype.forEach.call(roots, function (root) { observer.observe(root); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
  window.VGG_EXPLORERS = { rfTable: rfTable, unitField: unitField };
})();

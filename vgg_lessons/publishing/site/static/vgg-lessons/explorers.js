/* The book's in-page explorers: plain JavaScript, no framework, no network but the book's
 * own files. Data comes from ../../_explorers/ (written when the book is built by
 * vgg_lessons.publishing.site): manifest.js sets window.VGGLessons.data; sprites are drawn with
 * drawImage only (a canvas fed from file:// images must never be read back).
 * Each explorer keeps its state in data-* attributes of its root (tests read them).
 *
 * One global, window.VGGLessons: this file (the core) loads first and defines
 *   VGGLessons.register(kind, init, options)  init(root, manifest, helpers) -> promise;
 *                                              options.data === false: init gets no manifest
 *   VGGLessons.helpers                        the shared pieces below (el, canvas, ...)
 *   VGGLessons.data                           the manifest, once loaded
 * Explorers in files of their own (explorers-*.js) are loaded after this one and call
 * register; an explorer whose kind is not registered yet waits for it until the page's
 * load event. A script that runs before this one may leave [kind, init, options] triples
 * in window.VGGLessons.queue. */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = new URL("../../_explorers/", script ? script.src : location.href).href;
  var NS = window.VGGLessons = window.VGGLessons || {};
  var images = {};
  var manifestPromise = null;

  /* ---- loading ---------------------------------------------------------------------- */
  function loadManifest() {
    if (!manifestPromise) {
      manifestPromise = new Promise(function (resolve, reject) {
        if (NS.data) { resolve(NS.data); return; }
        var tag = document.createElement("script");
        tag.src = BASE + "manifest.js";
        tag.onload = function () {
          if (NS.data) resolve(NS.data); else reject(new Error(tag.src + " holds no data"));
        };
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

  /* A canvas; with a label it is an image for screen readers (role="img"), without one
   * it is decoration inside a labelled control (aria-hidden). */
  function canvas(width, height, cls, label) {
    var c = el("canvas", label ? { width: width, height: height, "class": cls || "", role: "img", "aria-label": label }
                               : { width: width, height: height, "class": cls || "", "aria-hidden": "true" });
    c.getContext("2d").imageSmoothingEnabled = false;
    return c;
  }

  /* Copies a rectangle of img onto a canvas (or a 2d context), pixel-sharp. */
  function blit(target, img, sx, sy, sw, sh, dx, dy, dw, dh) {
    var ctx = target.getContext ? target.getContext("2d") : target;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, sx, sy, sw, sh, dx, dy, dw, dh);
    return ctx;
  }

  /* The sentence on the model's answer for image i, shared by the explorers that show one. */
  function verdict(m, weights, i) {
    var truth = m.classes[m.images.labels[i]], said = m.classes[m.maps.predicted[weights][i]];
    return "True class: " + truth + ". The " + weights + " model says " + said +
      (said === truth ? " (right)" : " (wrong)");
  }

  /* The sentence that says what the explorer shows: read out when it changes. */
  function stateSentence(cls) {
    return el("p", { "class": "vgg-info" + (cls ? " " + cls : ""), "aria-live": "polite" });
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

  /* The whole number in input, or null (with aria-invalid and a message in its title)
   * when it is empty, not whole, or outside [min, max] (read from the input). */
  function readInteger(input, what) {
    var text = input.value.trim(), min = +input.min, max = +input.max, v = Number(text);
    var ok = text !== "" && Number.isInteger(v) && v >= min && v <= max;
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    input.title = ok ? "" : (what || input.getAttribute("aria-label")) + ": a whole number from " + min + " to " + max;
    return ok ? v : null;
  }

  /* Calls onValue(v) for each valid whole number typed into input; when the field is left
   * (change) with an invalid one, it shows the last valid value again. */
  function integerField(input, current, onValue) {
    input.addEventListener("input", function () {
      var v = readInteger(input);
      if (v !== null) onValue(v);
    });
    input.addEventListener("change", function () {
      if (readInteger(input) === null) {
        input.value = current();
        readInteger(input);
      }
    });
    return input;
  }

  /* fn (an explorer's update) made safe: an error it throws or rejects with is shown in the
   * explorer (role="alert") and in root.dataset.error instead of being lost. */
  function guard(root, fn) {
    var box = el("p", { "class": "vgg-error", role: "alert", hidden: "hidden" });
    root.appendChild(box);
    function show(err) {
      box.hidden = false;
      box.textContent = "The explorer could not draw this: " + (err && err.message || err);
      root.dataset.error = box.textContent;
    }
    return function () {
      var result;
      try { result = fn.apply(null, arguments); } catch (err) { show(err); return Promise.resolve(); }
      box.hidden = true;
      delete root.dataset.error;
      return Promise.resolve(result).catch(show);
    };
  }

  /* Arrow keys (and Home/End) on a focusable element: onMove(dRow, dCol) or onMove("home"|"end").
   * Returns true when it handled the key. */
  function arrowKeys(target, onMove) {
    target.tabIndex = 0;
    target.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0],
                    Home: "home", End: "end" };
      var move = moves[event.key];
      if (move === undefined) return;
      event.preventDefault();
      if (typeof move === "string") onMove(move); else onMove(move[0], move[1]);
    });
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
    var n = m.images.test_index.length, buttons = [], current = 0;
    for (var i = 0; i < n; i++) {
      var wrong = m.maps.predicted.trained[i] !== m.images.labels[i];
      var name = "test image " + (i + 1) + ": " + m.classes[m.images.labels[i]] + (wrong ? " (predicted wrongly)" : "");
      var b = el("button", { type: "button", "data-index": i, "class": wrong ? "vgg-wrong" : "",
                             title: name, "aria-label": name, "aria-pressed": i === 0 ? "true" : "false" },
                 [canvas(32, 32)]);
      b.addEventListener("click", onPick.bind(null, i));
      buttons.push(b);
      box.appendChild(b);
    }
    loadImage(m.images.sprite).then(function (sprite) {
      buttons.forEach(function (b, j) { blit(b.firstChild, sprite, m.input_size * j, 0, m.input_size, m.input_size, 0, 0, 32, 32); });
    });
    box.mark = function (i) {
      current = i;
      buttons.forEach(function (b, j) { b.setAttribute("aria-pressed", current === j ? "true" : "false"); });
    };
    return box;
  }

  function drawInput(m, target, i) {
    return loadImage(m.images.sprite).then(function (sprite) {
      blit(target, sprite, m.input_size * i, 0, m.input_size, m.input_size, 0, 0, target.width, target.height);
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
  /* The channel grid: pages of 8x4 tiles of 32 px, 2 px apart (a map of any size is enlarged to 32 px). */
  var TILE = 32, GAP = 2, PITCH = TILE + GAP, GRID_COLS = 8, PAGE = 32;

  function featureMaps(root, m) {
    var state = { image: 0, layer: 0, channel: 0, weights: "trained" };
    var input = canvas(128, 128, "vgg-input", "input image");
    var big = canvas(256, 256, "vgg-map", "selected channel");
    var grid = canvas(GRID_COLS * PITCH - GAP, TILE, "vgg-grid vgg-clickable",
                      "channels of the layer, 32 to a page: click one, or use the arrow keys");
    var layerSel = select("layer", layerOptions(m), 0);
    var weightSel = select("weights", [["trained", "trained weights"], ["random", "random weights"]], "trained");
    var channelIn = numberInput("channel", 0, 0, m.maps.layers[0].channels - 1);
    var prevPage = el("button", { type: "button", text: "\u2039 channels", "aria-label": "previous page of channels" });
    var nextPage = el("button", { type: "button", text: "channels \u203a", "aria-label": "next page of channels" });
    var pageInfo = el("span", { "class": "vgg-page-info" });
    var info = stateSentence();
    var draw = guard(root, update);
    var picker = imagePicker(m, function (i) { state.image = i; draw(); });
    root.appendChild(picker);
    root.appendChild(el("div", { "class": "vgg-controls" },
      [field("Layer", layerSel), field("Channel", channelIn), field("Weights", weightSel)]));
    root.appendChild(el("div", { "class": "vgg-panels" }, [
      el("figure", {}, [input, el("figcaption", { text: "input" })]),
      el("figure", {}, [big, el("figcaption", { "class": "vgg-map-caption" })]),
      el("figure", { "class": "vgg-grid-figure" }, [grid, el("figcaption", {}, [
        el("span", { text: "Every channel of the layer, each map enlarged to 32x32 pixels; click one. " }),
        el("span", { "class": "vgg-pager" }, [prevPage, pageInfo, nextPage])])])]));
    root.appendChild(info);
    function channels() { return m.maps.layers[state.layer].channels; }
    function go(c) { if (c >= 0 && c < channels() && c !== state.channel) { state.channel = c; draw(); } }
    layerSel.addEventListener("change", function () {
      state.layer = +layerSel.value;
      state.channel = Math.min(state.channel, channels() - 1);
      draw();
    });
    weightSel.addEventListener("change", function () { state.weights = weightSel.value; draw(); });
    integerField(channelIn, function () { return state.channel; }, go);
    prevPage.addEventListener("click", function () { go(Math.max(0, (Math.floor(state.channel / PAGE) - 1) * PAGE)); });
    nextPage.addEventListener("click", function () { go(Math.min(channels() - 1, (Math.floor(state.channel / PAGE) + 1) * PAGE)); });
    grid.addEventListener("click", function (event) {
      var rect = grid.getBoundingClientRect(), scale = grid.width / rect.width;
      var col = Math.min(GRID_COLS - 1, Math.floor((event.clientX - rect.left) * scale / PITCH));
      var row = Math.floor((event.clientY - rect.top) * scale / PITCH);
      go(Math.floor(state.channel / PAGE) * PAGE + row * GRID_COLS + col);
    });
    arrowKeys(grid, function (dRow, dCol) {
      if (dRow === "home") go(0);
      else if (dRow === "end") go(channels() - 1);
      else go(Math.min(channels() - 1, Math.max(0, state.channel + dRow * GRID_COLS + dCol)));
    });

    function update() {
      var layer = m.maps.layers[state.layer], sheet = m.maps.sheets[state.weights][state.image];
      ["image", "layer", "channel", "weights"].forEach(function (k) { root.dataset[k] = state[k]; });
      root.dataset.layerName = layer.name;
      root.dataset.sheet = sheet;
      channelIn.max = layer.channels - 1;
      channelIn.value = state.channel;
      readInteger(channelIn);
      layerSel.value = state.layer;
      picker.mark(state.image);
      var first = Math.floor(state.channel / PAGE) * PAGE, last = Math.min(layer.channels, first + PAGE) - 1;
      root.dataset.page = first + "-" + last;
      pageInfo.textContent = " " + first + "\u2013" + last + " of " + layer.channels + " ";
      prevPage.disabled = first === 0;
      nextPage.disabled = last === layer.channels - 1;
      var range = m.maps.ranges[state.weights][state.image][state.layer];
      var top3 = m.maps.top3[state.weights][state.image].map(function (p) {
        return m.classes[p[0]] + " " + (100 * p[1]).toFixed(1) + "%";
      });
      info.textContent = verdict(m, state.weights, state.image) + "; top 3: " + top3.join(", ") + ".";
      var caption = layer.name + ", channel " + state.channel + " (" + layer.size + "x" + layer.size +
        "); colour scale " + range[0] + " (dark) to " + range[1] + " (yellow)";
      root.querySelector(".vgg-map-caption").textContent = caption;
      big.setAttribute("aria-label", "map of " + caption);
      grid.setAttribute("aria-label", "channels " + first + " to " + last + " of " + layer.name +
        "; channel " + state.channel + " is selected: click one, or use the arrow keys");
      var t0 = performance.now();
      return Promise.all([drawInput(m, input, state.image), loadImage(sheet)]).then(function (r) {
        var img = r[1], tile = tileRect(layer, state.channel);
        blit(big, img, tile[0], tile[1], tile[2], tile[3], 0, 0, big.width, big.height);
        var n = last - first + 1;
        grid.width = GRID_COLS * PITCH - GAP;
        grid.height = Math.ceil(n / GRID_COLS) * PITCH - GAP;
        var g = grid.getContext("2d");
        for (var c = first; c <= last; c++) {
          var t = tileRect(layer, c), k = c - first;
          blit(g, img, t[0], t[1], t[2], t[3], (k % GRID_COLS) * PITCH, Math.floor(k / GRID_COLS) * PITCH, TILE, TILE);
        }
        var sel = state.channel - first;
        g.strokeStyle = "#ff2d55";
        g.lineWidth = 3;
        g.strokeRect((sel % GRID_COLS) * PITCH + 1.5, Math.floor(sel / GRID_COLS) * PITCH + 1.5, TILE - 3, TILE - 3);
        root.dataset.drawMs = (performance.now() - t0).toFixed(2);
        root.dataset.drawn = sheet + "|" + state.layer + "|" + state.channel;
      });
    }
    root.update = draw;
    return update();
  }

  /* ---- receptive field ------------------------------------------------------------- */
  function receptiveField(root, m) {
    var SCALE = 8, size = m.input_size;
    var state = { image: 0, layer: 6, channel: 0, unit: null, erf: true };
    var rows = rfTable(m.geometry, size);
    var input = canvas(size * SCALE, size * SCALE, "vgg-input", "input image with the unit's field");
    var map = canvas(256, 256, "vgg-map vgg-clickable", "the layer's map: click a unit, or use the arrow keys");
    var layerSel = select("layer", layerOptions(m), state.layer);
    var erfBox = el("input", { type: "checkbox", checked: "checked", "aria-label": "effective field" });
    var info = stateSentence();
    var draw = guard(root, update);
    var picker = imagePicker(m, function (i) { state.image = i; draw(); });
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
      draw();
    });
    erfBox.addEventListener("change", function () { state.erf = erfBox.checked; draw(); });
    function pick(row, col) {
      var n = m.maps.layers[state.layer].size;
      state.unit = [Math.min(n - 1, Math.max(0, row)), Math.min(n - 1, Math.max(0, col))];
      draw();
    }
    map.addEventListener("click", function (event) {
      var n = m.maps.layers[state.layer].size, rect = map.getBoundingClientRect();
      pick(Math.floor((event.clientY - rect.top) / rect.height * n),
           Math.floor((event.clientX - rect.left) / rect.width * n));
    });
    arrowKeys(map, function (dRow, dCol) {  /* Home: the centre unit; End: the last one */
      var n = m.maps.layers[state.layer].size, u = state.unit;
      if (dRow === "home") pick((n - 1) >> 1, (n - 1) >> 1);
      else if (dRow === "end") pick(n - 1, n - 1);
      else pick(u[0] + dRow, u[1] + dCol);
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
      map.setAttribute("aria-label", layer.name + ", channel 0: unit (row " + state.unit[0] + ", column " +
        state.unit[1] + ") of " + n + "x" + n + " is selected; click a unit, or use the arrow keys");
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
        var tile = tileRect(layer, 0), k = map.width / n;
        var g = blit(map, r[1], tile[0], tile[1], tile[2], tile[3], 0, 0, map.width, map.height);
        g.strokeStyle = "#ff2d55";
        g.lineWidth = 3;
        g.strokeRect(state.unit[1] * k + 1.5, state.unit[0] * k + 1.5, k - 3, k - 3);
        root.dataset.drawn = state.image + "|" + state.layer + "|" + state.unit.join(",");
      });
    }
    root.update = draw;
    return update();
  }

  /* ---- filters ------------------------------------------------------------------------- */
  function filters(root, m) {
    var f = m.filters, deep = f.deep, state = { channel: 0 };
    var KCOLS = 8, krows = Math.ceil(f.kernels.count / KCOLS); /* 8 to a row: 40 px each at 390 px too */
    var kernels = canvas(KCOLS * 40, krows * 40, "vgg-kernels", "the " + f.kernels.count + " kernels of " + f.kernels.layer);
    var painted = canvas(128, 128, "vgg-map", "activation-maximisation image");
    var tops = canvas(deep.k * 64, 64, "vgg-tops", "top test images");
    var channelIn = numberInput("channel", 0, 0, deep.channels - 1);
    var prev = el("button", { type: "button", text: "previous", "aria-label": "previous channel" });
    var next = el("button", { type: "button", text: "next", "aria-label": "next channel" });
    var info = stateSentence();
    var draw = guard(root, update);
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
      var s = f.kernels.size;
      for (var i = 0; i < f.kernels.count; i++) {
        blit(kernels, img, i * s, 0, s, s, (i % KCOLS) * 40 + 2, Math.floor(i / KCOLS) * 40 + 2, 36, 36);
      }
    });
    function go(c) { if (c >= 0 && c < deep.channels) { state.channel = c; draw(); } }
    integerField(channelIn, function () { return state.channel; }, go);
    prev.addEventListener("click", function () { go(state.channel - 1); });
    next.addEventListener("click", function () { go(state.channel + 1); });

    function update() {
      var c = state.channel, chunk = Math.floor(c / deep.chunk), j = c % deep.chunk;
      root.dataset.channel = c;
      channelIn.value = c;
      readInteger(channelIn);
      prev.disabled = c === 0;
      next.disabled = c === deep.channels - 1;
      var names = deep.top_labels[c].map(function (l) { return m.classes[l]; });
      root.querySelector(".vgg-top-caption").textContent = "its top " + deep.k + " of the first " +
        deep.searched + " test images: " + names.join(", ");
      info.textContent = "Channel " + c + " of " + deep.layer + " (read before its ReLU).";
      painted.setAttribute("aria-label", "an input that drives channel " + c + " of " + deep.layer + " hard");
      tops.setAttribute("aria-label", "the test images that drive channel " + c + " hardest: " + names.join(", "));
      return Promise.all([loadImage(deep.actmax[chunk]), loadImage(deep.top[chunk])]).then(function (r) {
        blit(painted, r[0], j * m.input_size, 0, m.input_size, m.input_size, 0, 0, 128, 128);
        for (var i = 0; i < deep.k; i++) blit(tops, r[1], i * m.input_size, j * m.input_size, m.input_size, m.input_size, i * 64, 0, 64, 64);
        root.dataset.drawn = "channel " + c;
      });
    }
    root.update = draw;
    return update();
  }

  /* ---- registry and start ------------------------------------------------------------ */
  var HELPERS = { el: el, canvas: canvas, blit: blit, select: select, field: field, numberInput: numberInput,
                  readInteger: readInteger, integerField: integerField, guard: guard, arrowKeys: arrowKeys,
                  stateSentence: stateSentence, verdict: verdict, loadImage: loadImage,
                  imagePicker: imagePicker, drawInput: drawInput, rfTable: rfTable, unitField: unitField };
  var registry = {};   /* kind -> {init, data} */
  var waiting = {};    /* kind -> [resolve, ...]: explorers on the page before their script ran */

  function register(kind, init, options) {
    registry[kind] = { init: init, data: !(options && options.data === false) };
    (waiting[kind] || []).forEach(function (resolve) { resolve(registry[kind]); });
    delete waiting[kind];
  }

  /* The registered explorer of this kind; waits for its script until the page has loaded. */
  function entry(kind) {
    if (registry[kind]) return Promise.resolve(registry[kind]);
    return new Promise(function (resolve, reject) {
      (waiting[kind] = waiting[kind] || []).push(resolve);
      function missing() {
        setTimeout(function () {
          if (!registry[kind]) reject(new Error("this page has no script for the " + kind + " explorer"));
        }, 0);
      }
      if (document.readyState === "complete") missing();
      else window.addEventListener("load", missing);
    });
  }

  /* A promise of the explorer of this kind, built in root (with the data when it needs it). */
  function build(kind, root) {
    return entry(kind).then(function (e) {
      if (!e.data) return e.init(root, null, HELPERS);
      return loadManifest().then(function (m) { return e.init(root, m, HELPERS); });
    });
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

  NS.register = register;
  NS.helpers = HELPERS;
  register("feature-maps", featureMaps);
  register("receptive-field", receptiveField);
  register("filters", filters);
  (NS.queue || []).forEach(function (args) { register.apply(null, args); });
  NS.queue = { push: function (args) { register.apply(null, args); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();

/* The live-model explorer (chapter 6): the shipped VGG runs in the page, in plain JavaScript,
 * on one of the explorers' test images or on an image of the reader's own (dropped or picked,
 * centre-cropped and downscaled to 32x32); the page shows the prediction, the top 3 and every
 * layer's feature maps, computed here and now.
 * Data (vgg_lessons.publishing.site.model_data), two scripts in ../../_explorers/: model.js sets
 * window.VGGLessons.model (the layer list, the test images; loaded when the explorer starts) and
 * model-weights.js window.VGGLessons.modelWeights (float16, base64, batch norm kept as its own
 * layer; about 1.5 MB, loaded only when the reader first asks for a prediction: a pick, a drop,
 * or the Run button). Loaded after explorers.js, in whose registry it puts itself
 * (window.VGGLessons.register); it needs nothing else from the core but its DOM helpers. State lives in data-* attributes of the root (source, predicted, top3,
 * layerName, channel, order, forwardMs, drawn); root.liveModel.forward(pixels, names) runs the
 * model on uint8 (3, 32, 32) pixels and returns the logits and the named layers' outputs (tests
 * compare them with PyTorch). */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = new URL("../../_explorers/", script ? script.src : location.href).href;
  var TILE = 32; /* smallest side of a channel's tile in the grid, in canvas pixels */
  var GAP = 2, COLS = 16, BIG = 256;
  var NS = window.VGGLessons, loading = {};

  /* ---- the data --------------------------------------------------------------------- */
  /* A promise of NS[key], set by the script ../../_explorers/<name> (loaded once). */
  function loadScript(name, key) {
    if (!loading[key]) {
      loading[key] = new Promise(function (resolve, reject) {
        if (NS[key]) { resolve(NS[key]); return; }
        var tag = document.createElement("script");
        tag.src = BASE + name;
        tag.onload = function () {
          if (NS[key]) resolve(NS[key]);
          else reject(new Error(tag.src + " did not define " + key));
        };
        tag.onerror = function () { reject(new Error("could not load " + tag.src)); };
        document.head.appendChild(tag);
      });
    }
    return loading[key];
  }

  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  /* float16 bits (little-endian pairs of bytes) -> Float32Array */
  function halves(b64) {
    var raw = bytes(b64), n = raw.length >> 1, out = new Float32Array(n);
    for (var i = 0; i < n; i++) {
      var h = raw[2 * i] | (raw[2 * i + 1] << 8);
      var sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
      out[i] = e === 0 ? sign * f * Math.pow(2, -24) :
        e === 31 ? (f ? NaN : sign * Infinity) : sign * (1 + f / 1024) * Math.pow(2, e - 15);
    }
    return out;
  }

  /* ---- the model ---------------------------------------------------------------------- */
  /* d: window.VGGLessons.model, weights: its float16 weights in base64
   * -> {layers, forward(pixels) -> {outputs: [Float32Array], logits}} */
  function buildModel(d, weights) {
    var w = halves(weights);
    function param(layer, key) {
      var at = layer.params[key];
      return at ? w.subarray(at[0], at[0] + at[1]) : null;
    }
    var ops = d.layers.map(function (layer) {
      var op = { layer: layer };
      if (layer.op === "conv" || layer.op === "linear") {
        op.weight = param(layer, "weight");
        op.bias = param(layer, "bias");
      } else if (layer.op === "bn") { /* y = x * scale + shift, as PyTorch's eval-mode BN */
        var g = param(layer, "weight"), b = param(layer, "bias"), mu = param(layer, "mean");
        var v = param(layer, "var"), c = g.length;
        op.scale = new Float32Array(c);
        op.shift = new Float32Array(c);
        for (var i = 0; i < c; i++) {
          op.scale[i] = g[i] / Math.sqrt(v[i] + layer.eps);
          op.shift[i] = b[i] - mu[i] * op.scale[i];
        }
      }
      return op;
    });

    /* uint8 (3, S, S) pixels -> every layer's output, in d.layers' order; the last: logits */
    function forward(pixels) {
      var S = d.input_size, n = S * S, x = new Float32Array(3 * n);
      for (var c = 0; c < 3; c++) {
        var m = d.mean[c] * 255, s = d.std[c] * 255;
        for (var i = 0; i < n; i++) x[c * n + i] = (pixels[c * n + i] - m) / s;
      }
      var shape = [3, S, S], outputs = [];
      ops.forEach(function (op) {
        x = run(op, x, shape);
        shape = op.layer.shape;
        outputs.push(x);
      });
      return { outputs: outputs, logits: x };
    }
    return { layers: d.layers, forward: forward };
  }

  function run(op, x, shape) {
    var L = op.layer;
    if (L.op === "conv") return conv(x, shape, L, op.weight, op.bias);
    if (L.op === "bn") return affine(x, shape, op.scale, op.shift);
    if (L.op === "relu") return x.map(function (v) { return v > 0 ? v : 0; });
    if (L.op === "pool") return maxPool(x, shape);
    if (L.op === "avgpool") return meanPool(x, shape);
    if (L.op === "linear") return linear(x, op.weight, op.bias);
    throw new Error("the page cannot run a layer of kind " + L.op);
  }

  /* (C, H, W) -> (K, H', W'): a square convolution of stride 1, zero padding p */
  function conv(x, shape, L, weight, bias) {
    var C = shape[0], H = shape[1], W = shape[2], k = L.kernel, p = L.padding;
    var K = L.shape[0], Ho = L.shape[1], Wo = L.shape[2], Hp = H + 2 * p, Wp = W + 2 * p;
    var pad = new Float32Array(C * Hp * Wp), out = new Float32Array(K * Ho * Wo);
    for (var c = 0; c < C; c++)
      for (var y = 0; y < H; y++)
        pad.set(x.subarray((c * H + y) * W, (c * H + y + 1) * W), (c * Hp + y + p) * Wp + p);
    for (var o = 0; o < K; o++) {
      var ob = o * Ho * Wo, b0 = bias ? bias[o] : 0;
      for (var j = 0; j < Ho * Wo; j++) out[ob + j] = b0;
      for (c = 0; c < C; c++) {
        var wb = (o * C + c) * k * k, ib = c * Hp * Wp;
        if (k === 3) { /* the VGG case: nine weights in registers, one pass over the plane */
          var w0 = weight[wb], w1 = weight[wb + 1], w2 = weight[wb + 2], w3 = weight[wb + 3],
            w4 = weight[wb + 4], w5 = weight[wb + 5], w6 = weight[wb + 6], w7 = weight[wb + 7],
            w8 = weight[wb + 8];
          for (y = 0; y < Ho; y++) {
            var r0 = ib + y * Wp, r1 = r0 + Wp, r2 = r1 + Wp, d = ob + y * Wo;
            for (var xx = 0; xx < Wo; xx++) {
              out[d + xx] += w0 * pad[r0 + xx] + w1 * pad[r0 + xx + 1] + w2 * pad[r0 + xx + 2] +
                w3 * pad[r1 + xx] + w4 * pad[r1 + xx + 1] + w5 * pad[r1 + xx + 2] +
                w6 * pad[r2 + xx] + w7 * pad[r2 + xx + 1] + w8 * pad[r2 + xx + 2];
            }
          }
        } else {
          for (var ky = 0; ky < k; ky++)
            for (var kx = 0; kx < k; kx++) {
              var wv = weight[wb + ky * k + kx];
              for (y = 0; y < Ho; y++) {
                var src = ib + (y + ky) * Wp + kx, dst = ob + y * Wo;
                for (xx = 0; xx < Wo; xx++) out[dst + xx] += wv * pad[src + xx];
              }
            }
        }
      }
    }
    return out;
  }

  function affine(x, shape, scale, shift) {
    var n = shape[1] * shape[2], out = new Float32Array(x.length);
    for (var c = 0; c < shape[0]; c++)
      for (var i = c * n; i < (c + 1) * n; i++) out[i] = x[i] * scale[c] + shift[c];
    return out;
  }

  /* (C, H, W) -> (C, H/2, W/2): 2x2 max-pool of stride 2 */
  function maxPool(x, shape) {
    var C = shape[0], H = shape[1], W = shape[2], h = H >> 1, w = W >> 1;
    var out = new Float32Array(C * h * w);
    for (var c = 0; c < C; c++)
      for (var y = 0; y < h; y++)
        for (var xx = 0; xx < w; xx++) {
          var i = (c * H + 2 * y) * W + 2 * xx;
          out[(c * h + y) * w + xx] = Math.max(x[i], x[i + 1], x[i + W], x[i + W + 1]);
        }
    return out;
  }

  function meanPool(x, shape) {
    var n = shape[1] * shape[2], out = new Float32Array(shape[0]);
    for (var c = 0; c < shape[0]; c++) {
      var s = 0;
      for (var i = c * n; i < (c + 1) * n; i++) s += x[i];
      out[c] = s / n;
    }
    return out;
  }

  function linear(x, weight, bias) {
    var K = bias.length, C = x.length, out = new Float32Array(K);
    for (var o = 0; o < K; o++) {
      var s = bias[o];
      for (var c = 0; c < C; c++) s += weight[o * C + c] * x[c];
      out[o] = s;
    }
    return out;
  }

  function softmax(logits) {
    var top = Math.max.apply(null, logits), e = Array.prototype.map.call(logits, function (v) {
      return Math.exp(v - top);
    });
    var sum = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (v) { return v / sum; });
  }

  /* ---- an image of the reader's own -> uint8 (3, S, S), centre-cropped and downscaled ---- */
  function fromBlob(blob, S) {
    return createImageBitmap(blob).then(function (bitmap) {
      var side = Math.min(bitmap.width, bitmap.height);
      var src = document.createElement("canvas");
      src.width = src.height = side;
      var g = src.getContext("2d");
      g.drawImage(bitmap, Math.floor((bitmap.width - side) / 2), Math.floor((bitmap.height - side) / 2),
                  side, side, 0, 0, side, side);
      if (bitmap.close) bitmap.close();
      while (side >= 2 * S) { /* halve while we can: each step averages 2x2 pixels */
        var half = document.createElement("canvas");
        half.width = half.height = side = Math.floor(side / 2);
        var hg = half.getContext("2d");
        hg.imageSmoothingEnabled = true;
        hg.imageSmoothingQuality = "high";
        hg.drawImage(src, 0, 0, src.width, src.height, 0, 0, side, side);
        src = half;
      }
      var small = document.createElement("canvas");
      small.width = small.height = S;
      var sg = small.getContext("2d");
      sg.imageSmoothingEnabled = true;
      sg.imageSmoothingQuality = "high";
      sg.drawImage(src, 0, 0, src.width, src.height, 0, 0, S, S);
      var rgba = sg.getImageData(0, 0, S, S).data, out = new Uint8Array(3 * S * S);
      for (var i = 0; i < S * S; i++)
        for (var c = 0; c < 3; c++) out[c * S * S + i] = rgba[4 * i + c];
      return out;
    });
  }

  /* ---- drawing ------------------------------------------------------------------------ */
  function drawPixels(target, pixels, S) {
    var img = new ImageData(S, S);
    for (var i = 0; i < S * S; i++) {
      for (var c = 0; c < 3; c++) img.data[4 * i + c] = pixels[c * S * S + i];
      img.data[4 * i + 3] = 255;
    }
    var tmp = document.createElement("canvas");
    tmp.width = tmp.height = S;
    tmp.getContext("2d").putImageData(img, 0, 0);
    var g = target.getContext("2d");
    g.imageSmoothingEnabled = false;
    g.drawImage(tmp, 0, 0, target.width, target.height);
  }

  /* channel c of a (C, h, w) map into an RGBA ImageData at (x0, y0), each value a k x k block */
  function paintChannel(img, map, h, w, c, x0, y0, k, lo, hi, lut) {
    var span = hi > lo ? hi - lo : 1;
    for (var y = 0; y < h * k; y++)
      for (var x = 0; x < w * k; x++) {
        var v = map[(c * h + Math.floor(y / k)) * w + Math.floor(x / k)];
        var q = Math.max(0, Math.min(255, Math.round((v - lo) / span * 255)));
        var at = 4 * ((y0 + y) * img.width + x0 + x);
        img.data[at] = lut[3 * q];
        img.data[at + 1] = lut[3 * q + 1];
        img.data[at + 2] = lut[3 * q + 2];
        img.data[at + 3] = 255;
      }
  }

  /* a frame 2 pixels wide, in the explorers' red, just inside the t x t tile at (x0, y0) */
  function frame(img, x0, y0, t) {
    for (var y = 0; y < t; y++)
      for (var x = 0; x < t; x++) {
        if (x > 1 && x < t - 2 && y > 1 && y < t - 2) continue;
        var at = 4 * ((y0 + y) * img.width + x0 + x);
        img.data[at] = 255; img.data[at + 1] = 45; img.data[at + 2] = 85; img.data[at + 3] = 255;
      }
  }

  function round4(v) { return Number(v.toPrecision(4)); }

  /* ---- the explorer -------------------------------------------------------------------- */
  function liveModel(root, m, h) {
    return loadScript("model.js", "model").then(function (d) { return explorer(root, d, h); });
  }

  function explorer(root, d, h) {
    var S = d.input_size, lut = bytes(d.viridis), testPixels = bytes(d.images.pixels);
    var shown = [];
    d.layers.forEach(function (l, i) { if (l.name.indexOf("stage") === 0) shown.push(i); });
    var state = { source: "test:0", pixels: testPixels.subarray(0, 3 * S * S), label: d.images.labels[0],
                  layer: shown[0], channel: 0, order: "index", result: null };
    var draws = 0, model = null;
    var megabytes = (d.weights_bytes / 1e6).toFixed(1) + " MB";

    /* controls */
    var fileIn = h.el("input", { type: "file", accept: "image/*", "class": "vgg-file",
                                 "aria-label": "an image of your own" });
    var drop = h.el("div", { "class": "vgg-drop", tabindex: "-1" }, [
      h.el("span", { text: "Drop an image here, or " }), h.field("choose one:", fileIn)]);
    var thumbs = h.el("div", { "class": "vgg-thumbs", role: "group", "aria-label": "test image" });
    var buttons = [];
    for (var i = 0; i < d.images.count; i++) {
      var tc = h.canvas(S, S);
      tc.setAttribute("aria-hidden", "true");
      drawPixels(tc, testPixels.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), S);
      var name = "test image " + i + ": " + d.classes[d.images.labels[i]];
      var b = h.el("button", { type: "button", "data-index": i, "aria-pressed": "false",
                               title: name, "aria-label": name }, [tc]);
      b.addEventListener("click", pickTest.bind(null, i));
      buttons.push(b);
      thumbs.appendChild(b);
    }
    var layerSel = h.select("layer", shown.map(function (i) {
      var l = d.layers[i];
      return [i, l.name + " (" + l.op + ", " + l.shape[0] + " x " + l.shape[1] + "x" + l.shape[2] + ")"];
    }), state.layer);
    var channelIn = h.el("input", { type: "number", value: 0, min: 0, max: 0, step: 1, "aria-label": "channel" });
    var orderSel = h.select("order", [["index", "channel number"], ["strongest", "strongest first"]], "index");
    var input = h.canvas(128, 128, "vgg-input", "the image as the model sees it, 32x32 pixels");
    var big = h.canvas(BIG, BIG, "vgg-map", "the selected channel");
    var grid = h.canvas(COLS * (TILE + GAP), TILE + GAP, "vgg-grid vgg-clickable",
                        "every channel of the layer: click one, or use the arrow keys");
    grid.setAttribute("tabindex", "0");
    [input, big, grid].forEach(function (c) { c.setAttribute("role", "img"); });
    var said = h.el("p", { "class": "vgg-info vgg-prediction", "aria-live": "polite" });
    var status = h.el("p", { "class": "vgg-info vgg-live-status", "aria-live": "polite" });
    var runText = "Run the model (loads its weights, " + megabytes + ")";
    var runButton = h.el("button", { type: "button", "class": "vgg-run", text: runText, "aria-label": runText });
    runButton.addEventListener("click", function () { run(); });

    root.appendChild(drop);
    root.appendChild(h.el("p", { "class": "vgg-strip-caption", text: "or pick one of the test images:" }));
    root.appendChild(thumbs);
    root.appendChild(h.el("div", { "class": "vgg-panels" }, [
      h.el("figure", {}, [input, h.el("figcaption", { text: "what the model sees: 32x32 pixels" })]),
      h.el("div", { "class": "vgg-live-answer" }, [said, runButton, status])]));
    root.appendChild(h.el("div", { "class": "vgg-controls" },
      [h.field("Layer", layerSel), h.field("Channel", channelIn), h.field("Order", orderSel)]));
    root.appendChild(h.el("div", { "class": "vgg-panels" }, [
      h.el("figure", {}, [big, h.el("figcaption", { "class": "vgg-map-caption" })]),
      h.el("figure", { "class": "vgg-grid-figure" }, [grid, h.el("figcaption", { "class": "vgg-grid-caption" })])]));

    /* events */
    fileIn.addEventListener("change", function () { if (fileIn.files.length) useFile(fileIn.files[0]); });
    root.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("vgg-over"); });
    root.addEventListener("dragleave", function () { drop.classList.remove("vgg-over"); });
    root.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("vgg-over");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) useFile(files[0]);
    });
    layerSel.addEventListener("change", function () {
      state.layer = +layerSel.value;
      state.channel = Math.min(state.channel, d.layers[state.layer].shape[0] - 1);
      draw();
    });
    orderSel.addEventListener("change", function () { state.order = orderSel.value; draw(); });
    channelIn.addEventListener("input", function () {
      var c = parseInt(channelIn.value, 10);
      if (c >= 0 && c < d.layers[state.layer].shape[0]) { state.channel = c; draw(); }
    });
    grid.addEventListener("click", function (e) {
      var r = grid.getBoundingClientRect(), k = grid.width / r.width, t = tileSide() + GAP;
      var j = Math.floor((e.clientY - r.top) * k / t) * COLS + Math.floor((e.clientX - r.left) * k / t);
      var order = channelOrder();
      if (j >= 0 && j < order.length) { state.channel = order[j]; draw(); }
    });
    grid.addEventListener("keydown", function (e) {
      var step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -COLS, ArrowDown: COLS }[e.key];
      if (!step) return;
      e.preventDefault();
      var order = channelOrder(), j = order.indexOf(state.channel) + step;
      if (j >= 0 && j < order.length) { state.channel = order[j]; draw(); }
    });

    function pickTest(i) {
      state.source = "test:" + i;
      state.label = d.images.labels[i];
      state.pixels = testPixels.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
      return run();
    }

    /* A promise of the model: its weights are loaded the first time a prediction is asked for. */
    function ensureModel() {
      if (model) return Promise.resolve(model);
      status.textContent = "Loading the model's weights (" + megabytes + ")...";
      return loadScript(d.weights_file, "modelWeights").then(function (weights) {
        model = model || buildModel(d, weights);
        return model;
      });
    }

    function run() {
      return ensureModel().then(compute, function (err) {
        status.textContent = "The model's weights could not be loaded: " + err.message;
        root.dataset.error = "weights";
      });
    }

    function useFile(file) {
      status.textContent = "Reading " + file.name + "...";
      return fromBlob(file, S).then(function (pixels) {
        state.source = "upload:" + file.name;
        state.label = null;
        state.pixels = pixels;
        return run();
      }, function () {
        status.textContent = "Could not read " + file.name + " as an image; try a PNG or JPEG.";
        root.dataset.error = "unreadable:" + file.name;
      });
    }

    function compute() {
      runButton.hidden = true;
      var t0 = performance.now();
      state.result = model.forward(state.pixels);
      root.dataset.forwardMs = (performance.now() - t0).toFixed(2);
      delete root.dataset.error;
      return draw();
    }

    function tileSide() {
      var l = d.layers[state.layer];
      return l.shape[1] * Math.max(1, Math.ceil(TILE / l.shape[1]));
    }

    /* channels of the shown layer in the order chosen: by number, or by mean output */
    function channelOrder() {
      var l = d.layers[state.layer], C = l.shape[0], n = l.shape[1] * l.shape[2];
      var order = [];
      for (var c = 0; c < C; c++) order.push(c);
      if (state.order === "strongest") {
        var map = state.result.outputs[state.layer], mean = order.map(function (c) {
          var s = 0;
          for (var i = c * n; i < (c + 1) * n; i++) s += map[i];
          return s / n;
        });
        order.sort(function (a, b) { return mean[b] - mean[a] || a - b; });
      }
      return order;
    }

    function describe(probs) {
      var ranked = probs.map(function (p, k) { return [k, p]; }).sort(function (a, b) { return b[1] - a[1]; });
      var top3 = ranked.slice(0, 3), best = d.classes[top3[0][0]];
      var truth = state.label === null ? "" : "True class: " + d.classes[state.label] + ". ";
      said.textContent = truth + "The model says " + best + (state.label === null ? "" :
        (top3[0][0] === state.label ? " (right)" : " (wrong)")) + "; top 3: " + top3.map(function (p) {
        return d.classes[p[0]] + " " + (100 * p[1]).toFixed(1) + "%";
      }).join(", ") + ".";
      root.dataset.predicted = best;
      root.dataset.top3 = top3.map(function (p) { return d.classes[p[0]]; }).join(",");
    }

    function draw() {
      if (!state.result) return;
      var l = d.layers[state.layer], C = l.shape[0], n = l.shape[1], map = state.result.outputs[state.layer];
      var lo = Infinity, hi = -Infinity;
      for (var i = 0; i < map.length; i++) { if (map[i] < lo) lo = map[i]; if (map[i] > hi) hi = map[i]; }
      describe(softmax(state.result.logits));
      status.textContent = (state.source.indexOf("upload:") === 0 ? "Your image " +
        state.source.slice(7) + ", centre-cropped to a square and downscaled to " + S + "x" + S + " pixels. " :
        "Test image " + state.source.slice(5) + ". ") + "Forward pass in this page: " +
        root.dataset.forwardMs + " ms.";
      ["source", "layer", "channel", "order"].forEach(function (k) { root.dataset[k] = state[k]; });
      root.dataset.layerName = l.name;
      channelIn.max = C - 1;
      channelIn.value = state.channel;
      layerSel.value = state.layer;
      orderSel.value = state.order;
      buttons.forEach(function (b, j) {
        b.setAttribute("aria-pressed", state.source === "test:" + j ? "true" : "false");
      });
      drawPixels(input, state.pixels, S);
      /* the chosen channel, big */
      var k = Math.floor(BIG / n), img = new ImageData(n * k, n * k);
      paintChannel(img, map, n, n, state.channel, 0, 0, k, lo, hi, lut);
      big.width = big.height = n * k;
      big.getContext("2d").putImageData(img, 0, 0);
      big.setAttribute("aria-label", l.name + ", channel " + state.channel);
      root.querySelector(".vgg-map-caption").textContent = l.name + ", channel " + state.channel + " (" + n +
        "x" + n + "); colour scale " + round4(lo) + " (dark) to " + round4(hi) + " (yellow), the whole layer's range";
      /* every channel, each tile at least TILE pixels a side */
      var t = tileSide(), kt = t / n, order = channelOrder(), cols = Math.min(COLS, C);
      var rows = Math.ceil(C / cols), sheet = new ImageData(cols * (t + GAP), rows * (t + GAP));
      order.forEach(function (c, j) {
        var x0 = (j % cols) * (t + GAP), y0 = Math.floor(j / cols) * (t + GAP);
        paintChannel(sheet, map, n, n, c, x0, y0, kt, lo, hi, lut);
        if (c === state.channel) frame(sheet, x0, y0, t);
      });
      grid.width = sheet.width;
      grid.height = sheet.height;
      grid.getContext("2d").putImageData(sheet, 0, 0);
      root.querySelector(".vgg-grid-caption").textContent = "all " + C + " channels of " + l.name +
        (state.order === "strongest" ? ", strongest (highest mean) first" : "") +
        "; click one, or focus here and use the arrow keys";
      draws += 1;
      root.dataset.drawn = draws + "|" + state.source + "|" + state.layer + "|" + state.channel + "|" + state.order;
    }

    root.liveModel = {
      layers: d.layers,
      /* uint8 (3, S, S) pixels and layer names -> {logits, outputs: {name: values}, ms} */
      forward: function (pixels, names) {
        var t0 = performance.now(), r = model.forward(Uint8Array.from(pixels)), ms = performance.now() - t0;
        var outputs = {};
        d.layers.forEach(function (l, i) {
          if ((names || []).indexOf(l.name) >= 0) outputs[l.name] = Array.from(r.outputs[i]);
        });
        return { logits: Array.from(r.logits), outputs: outputs, ms: ms };
      },
      /* the forward pass alone, n times after 3 untimed ones (the JIT warms up): each in ms */
      time: function (n) {
        var times = [];
        for (var w = 0; w < 3; w++) model.forward(state.pixels);
        for (var i = 0; i < n; i++) {
          var t0 = performance.now();
          model.forward(state.pixels);
          times.push(performance.now() - t0);
        }
        return times;
      },
      pixels: function () { return Array.from(state.pixels); },
      ready: ensureModel,
      testImage: pickTest,
      useFile: useFile
    };
    /* before the first prediction: the input as the model would see it, and what to do */
    drawPixels(input, state.pixels, S);
    buttons[0].setAttribute("aria-pressed", "true");
    said.textContent = "Pick a test image, drop or choose an image of your own, or press Run: " +
      "the page loads the model's weights (" + megabytes + ", once) and runs it here.";
    root.dataset.source = state.source;
    root.dataset.drawn = "0|waiting";
    return Promise.resolve();
  }

  /* it loads its own data (model.js), not the manifest */
  window.VGGLessons.register("live-model", liveModel, { data: false });
})();

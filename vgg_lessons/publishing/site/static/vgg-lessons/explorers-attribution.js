/* The attribution explorer (chapter 7): saliency and Grad-CAM of the shipped model, in the
 * page. Loaded after explorers.js, in whose registry it puts itself (window.VGGLessons.register);
 * it is started with the manifest and the core's helpers.
 * Data (vgg_lessons.publishing.site.attribution_data): per weights and image, one sprite sheet with
 * a row per method (saliency, then Grad-CAM at each layer) and a column per class, each
 * map scaled to its own peak and coloured with inferno; per image, method and class the
 * rank correlation of the trained map with the random one, in hundredths.
 * State lives in data-* attributes of the root (image, method, target, weights, drawn). */
(function () {
  "use strict";
  var STRIP = 40; /* pixels per class tile in the class strip */
  var SIDE = 192; /* pixels of the input, map and overlay canvases: 6 per input pixel */

  function attribution(root, m, h) {
    var a = m.attribution, tile = a.tile, n = m.classes.length;
    var state = { image: 0, method: a.default_method, target: m.maps.predicted.trained[0],
                  weights: "trained", opacity: 55 };
    var input = h.canvas(SIDE, SIDE, "vgg-input", "input image");
    var map = h.canvas(SIDE, SIDE, "vgg-map", "the map, scaled to its peak");
    var overlay = h.canvas(SIDE, SIDE, "vgg-overlay", "the map over the image");
    var methodSel = h.select("method", a.methods.map(function (x, i) {
      return [i, x.layer ? x.name + ", " + x.layer + " (" + x.units + "x" + x.units + ")" :
        x.name + " (" + x.units + "x" + x.units + " pixels)"];
    }), state.method);
    var weightSel = h.select("weights", [["trained", "trained weights"], ["random", "random weights"]], "trained");
    var opacityIn = h.el("input", { type: "range", min: 0, max: 100, value: state.opacity, "aria-label": "opacity" });
    var strip = h.el("div", { "class": "vgg-classes", role: "group", "aria-label": "target class" });
    var tiles = [];
    for (var k = 0; k < n; k++) {
      var c = h.canvas(STRIP, STRIP);
      var b = h.el("button", { type: "button", "data-class": k }, [c, h.el("span", { "class": "vgg-class-name" })]);
      b.addEventListener("click", pickTarget.bind(null, k));
      tiles.push(b);
      strip.appendChild(b);
    }
    var info = h.stateSentence();
    var check = h.stateSentence("vgg-check");
    var draw = h.guard(root, update);
    var picker = h.imagePicker(m, function (i) {
      state.image = i;
      state.target = m.maps.predicted.trained[i]; /* as in chapter 7: the trained model's class */
      draw();
    });
    root.appendChild(picker);
    root.appendChild(h.el("div", { "class": "vgg-controls" }, [h.field("Map", methodSel),
      h.field("Weights", weightSel), h.field("Overlay", opacityIn)]));
    root.appendChild(h.el("p", { "class": "vgg-strip-caption", text:
      "The map for each class (bold: the true class; underlined: the model's answer). " +
      "Click one to make it the target:" }));
    root.appendChild(strip);
    root.appendChild(h.el("div", { "class": "vgg-panels vgg-attr-panels" }, [
      h.el("figure", {}, [input, h.el("figcaption", { text: "input" })]),
      h.el("figure", {}, [map, h.el("figcaption", { text: "the map" })]),
      h.el("figure", {}, [overlay, h.el("figcaption", { text: "over the input" })])]));
    root.appendChild(h.el("p", { "class": "vgg-map-caption" }));
    root.appendChild(info);
    root.appendChild(check);
    methodSel.addEventListener("change", function () { state.method = +methodSel.value; draw(); });
    weightSel.addEventListener("change", function () { state.weights = weightSel.value; draw(); });
    opacityIn.addEventListener("input", function () { state.opacity = +opacityIn.value; draw(); });

    function pickTarget(k) { state.target = k; draw(); }

    function describe(method) {
      return method.layer ? method.name + " at " + method.layer : method.name;
    }

    function texts(method) {
      var i = state.image, cls = m.classes[state.target];
      var zero = a.zero[state.weights][i].charAt(state.method * n + state.target) === "1";
      var rho = a.similarity[i][state.method][state.target];
      info.textContent = h.verdict(m, state.weights, i) + ". Shown: " + describe(method) +
        " for the class " + cls + (zero ? ": zero everywhere. At " + method.layer + " nothing in this image " +
          "counts as evidence for " + cls + " (Grad-CAM keeps only the positive part)." :
          ", scaled to its own peak: bright pixels matter most for the " + cls + " score (before softmax).");
      check.textContent = rho === null ? "Sanity check: one of the two maps is flat (all zero), so the " +
        "trained and random maps cannot be ranked against each other." :
        "Sanity check: the rank correlation between this map with trained and with random weights " +
        "(same image, same class) is " + (rho / 100).toFixed(2) + " (1: the same order of pixels, 0: unrelated).";
      return { zero: zero, rho: rho };
    }

    function update() {
      var i = state.image, method = a.methods[state.method], sheet = a.sheets[state.weights][i];
      var said = m.maps.predicted[state.weights][i], truth = m.images.labels[i];
      var shown = texts(method);
      ["image", "method", "target", "weights", "opacity"].forEach(function (key) { root.dataset[key] = state[key]; });
      root.dataset.sheet = sheet;
      root.dataset.zero = String(shown.zero);
      root.dataset.similarity = shown.rho === null ? "" : String(shown.rho);
      methodSel.value = state.method;
      picker.mark(i);
      map.setAttribute("aria-label", "the map: " + describe(method) + ", class " + m.classes[state.target]);
      overlay.setAttribute("aria-label", "the map over the input, at " + state.opacity + "% opacity");
      var px = m.input_size + "x" + m.input_size;
      root.querySelector(".vgg-map-caption").textContent = "The map: " + describe(method) + ", class " +
        m.classes[state.target] + (method.layer ? " (" + method.units + "x" + method.units +
        " units, upsampled to " + px + " pixels" + (method.copies ? ", the mean over " + method.copies +
        " moved and mirrored copies of the image" : "") + ")" : " (" + px + " pixels)") +
        "; black is 0, pale yellow the map's peak.";
      tiles.forEach(function (b, k) {
        b.setAttribute("aria-pressed", k === state.target ? "true" : "false");
        b.className = (k === truth ? "vgg-true " : "") + (k === said ? "vgg-said" : "");
        b.title = m.classes[k] + (k === truth ? " (the true class)" : "") + (k === said ? " (the model's answer)" : "");
        b.setAttribute("aria-label", "target class " + b.title);
        b.lastChild.textContent = m.classes[k];
      });
      return Promise.all([h.drawInput(m, input, i), h.loadImage(sheet)]).then(function (r) {
        var img = r[1], sx = state.target * tile, sy = state.method * tile;
        h.blit(map, img, sx, sy, tile, tile, 0, 0, map.width, map.height);
        var o = overlay.getContext("2d");
        o.globalAlpha = 1;
        o.drawImage(input, 0, 0);
        o.globalAlpha = state.opacity / 100;
        h.blit(o, img, sx, sy, tile, tile, 0, 0, overlay.width, overlay.height);
        o.globalAlpha = 1;
        tiles.forEach(function (b, k) { h.blit(b.firstChild, img, k * tile, sy, tile, tile, 0, 0, STRIP, STRIP); });
        root.dataset.drawn = [sheet, state.method, state.target, state.opacity].join("|");
      });
    }
    root.update = draw;
    return update();
  }

  window.VGGLessons.register("attribution", attribution);
})();

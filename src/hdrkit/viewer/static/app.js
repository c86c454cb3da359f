// hdrkit viewer: the page.  Query parameters: file=URL (repeatable; `hdrkit view` passes its files this way),
// backend=auto|webgpu|webgl2, display=auto|hdr|sdr, view=0..4.  window.hdrkitViewer is a small API used by the
// tests (and handy from the console): ready, load(url), pixels(which), setView(v), state.
"use strict";
(function () {
  const H = window.HDRKIT;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = { view: Number(params.get("view") || 1), split: 0.5, exposure: 0, headroom: 2, error: null, fallback: null,
                  backend: null, display: null, extended: false, current: null, timings: {}, loads: 0 };

  function showMessage(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = kind;
  }
  function showError(err) {
    const text = err instanceof H.HdrkitFormatError ? err.message : `unexpected error: ${err && err.message ? err.message : err}`;
    state.error = text;
    showMessage(text, "error");
    $("stage").hidden = true;
    $("readout").textContent = "";
  }

  // ---------------------------------------------------------------------------------------- backends
  let backendPromise = null;
  function backend() {
    if (!backendPromise) backendPromise = (async () => {
      const want = params.get("backend") || "auto";
      let b = null;
      if (want !== "webgl2") {
        try { b = await H.WebGPUBackend.create($("canvas-gpu")); } catch (e) { b = null; }
        if (!b && want === "webgpu") throw new H.HdrkitFormatError("WebGPU is not available in this browser");
      }
      if (!b) b = new H.WebGL2Backend($("canvas-gl"));
      state.backend = b.name;
      const disp = params.get("display") || "auto";
      const hdrScreen = window.matchMedia && matchMedia("(dynamic-range: high)").matches;
      let display = null;
      if (b.name === "webgpu" && disp !== "sdr" && (hdrScreen || disp === "hdr") && b.configureDisplay()) {
        const failure = await b.probeDisplay();
        if (failure) {  // the WebGPU instance is gone: decode and display with WebGL2
          state.fallback = `the WebGPU HDR canvas failed (${failure}); decoding and showing with WebGL2`;
          b = new H.WebGL2Backend($("canvas-gl"));
          state.backend = b.name;
        } else {
          display = b; state.extended = true;
        }
      }
      if (!display) {
        display = b.name === "webgl2" ? b : new H.WebGL2Backend($("canvas-gl"));
        state.extended = false;
      }
      state.display = state.extended ? "extended-range rgba16float canvas" : "tone-mapped SDR canvas";
      $("canvas-gpu").hidden = !state.extended;
      $("canvas-gl").hidden = state.extended;
      $("headroom-box").hidden = !state.extended;
      $("exposure-box").hidden = state.extended;
      return { decoder: b, display };
    })();
    return backendPromise;
  }

  // Decode a PNG/JPEG with the browser's own decoder: exact 8-bit code values, no colour management.
  async function decodePicture(bytes, what) {
    let bmp;
    try {
      bmp = await createImageBitmap(new Blob([bytes]), { colorSpaceConversion: "none", premultiplyAlpha: "none",
                                                          imageOrientation: "none" });
    } catch (e) {
      throw new H.HdrkitFormatError(`${what}: the browser cannot decode this picture (corrupt or unsupported file)`);
    }
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bmp, 0, 0);
    const rgba = new Uint8Array(ctx.getImageData(0, 0, bmp.width, bmp.height).data.buffer);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    const out = { width: bmp.width, height: bmp.height, rgba };
    bmp.close();
    return out;
  }

  // ------------------------------------------------------------------------------------------ loading
  async function loadBytes(bytes, name) {
    state.error = null;
    showMessage(`decoding ${name} …`, "info");
    const info = H.inspect(bytes, name);
    const { decoder, display } = await backend();
    const img = await decodePicture(info.ultrahdr ? info.ultrahdr.primary : bytes, name);
    const c = info.container;
    if (c && c.width && c.height && (c.width !== img.width || c.height !== img.height))
      throw new H.HdrkitFormatError(`${name} is ${img.width}x${img.height} but its hdrkit metadata was made for ` +
        `${c.width}x${c.height} (the picture was resized after encoding)`);
    let netPQ = null, gmPQ = null, plan = null, map = null;
    const t0 = performance.now();
    if (c) {
      plan = H.networkPlan(c, img.width, img.height);
      netPQ = await decoder.decodeNetwork(plan, img);
    }
    const t1 = performance.now();
    if (info.ultrahdr) {
      map = await decodePicture(info.ultrahdr.gainmap, `${name} (gain map)`);
      gmPQ = await decoder.decodeGainmap(img, map, info.ultrahdr, gmWeight(info.ultrahdr));
    }
    const t2 = performance.now();
    state.timings = { network_ms: c ? t1 - t0 : null, gainmap_ms: info.ultrahdr ? t2 - t1 : null };
    state.current = { name, img, map, netPQ: netPQ || gmPQ, gmPQ, info, plan, hdrSource: c ? "network" : "gain map" };
    display.setImages(img, state.current.netPQ, gmPQ);
    $("drop").hidden = true;
    $("stage").hidden = false;
    showMessage("", "");
    describe();
    redraw();
  }

  async function load(source, name) {
    state.loads++;
    try {
      let bytes = source;
      if (typeof source === "string") {
        name = name || decodeURIComponent(source.split("/").pop().split("?")[0]);
        let resp;
        try { resp = await fetch(source); } catch (e) { throw new H.HdrkitFormatError(`cannot fetch ${name}`); }
        if (!resp.ok) throw new H.HdrkitFormatError(`cannot fetch ${name} (HTTP ${resp.status})`);
        bytes = new Uint8Array(await resp.arrayBuffer());
      } else if (source instanceof Blob) {
        name = name || source.name;
        bytes = new Uint8Array(await source.arrayBuffer());
      }
      await loadBytes(bytes, name || "file");
      return true;
    } catch (err) {
      showError(err);
      return false;
    } finally {
      document.querySelectorAll("#files button").forEach((b) => b.classList.toggle("current", b.dataset.name === name));
    }
  }

  // the gain map's weight: full boost on the tone-mapped display, the headroom slider's on an extended one
  const gmWeight = (u) => (state.extended ? H.gainmapWeight(u.metadata, state.headroom) : 1);
  let reweigh = null;
  function reweighGainmap() {  // headroom changed on an extended display: re-apply the map (debounced)
    clearTimeout(reweigh);
    reweigh = setTimeout(async () => {
      const cur = state.current;
      if (!cur || !cur.map || !state.extended) return;
      try {
        const { decoder, display } = await backend();
        cur.gmPQ = await decoder.decodeGainmap(cur.img, cur.map, cur.info.ultrahdr, gmWeight(cur.info.ultrahdr));
        if (!cur.info.container) cur.netPQ = cur.gmPQ;
        display.setImages(cur.img, cur.netPQ, cur.gmPQ);
        redraw();
      } catch (e) { showError(e); }
    }, 150);
  }

  function describe() {
    const cur = state.current, c = cur.info.container, u = cur.info.ultrahdr;
    const lines = [`${cur.name}: ${cur.img.width}x${cur.img.height}, ${cur.info.kind.toUpperCase()}`];
    if (c) {
      const cfg = c.cfg;
      if (cfg.family === "gamma") lines.push(`network: gamma map, hidden ${cfg.hidden.join("-")} (ReLU), Fourier octaves ` +
        `${cfg.coordOctaves} (x, y) / ${cfg.colorOctaves} (R, G, B), offset ${cfg.offset}; ` +
        `${c.params} parameters, ${c.quant}, ${c.bytes} bytes; HDR ${c.hdr.primaries}/${c.hdr.transfer} peak ${c.hdr.nits} cd/m2`);
      else lines.push(`network: colour ${cfg.color.join("-")}, spatial ${cfg.spatial.join("-")}, merge ${cfg.merge.join("-") || "-"}, ` +
        `${cfg.activation}${cfg.activation === "sin" ? ` (omega0 ${cfg.omega0})` : ""}, coordinate octaves ${cfg.coordOctaves}; ` +
        `${c.params} parameters, ${c.quant}, ${c.bytes} bytes; HDR ${c.hdr.primaries}/${c.hdr.transfer} peak ${c.hdr.nits} cd/m2`);
      lines.push(`decode: ${state.backend}, ${state.timings.network_ms.toFixed(1)} ms (${cur.plan.flops} FLOPs/pixel)`);
    }
    if (u) {
      const m = u.metadata;
      lines.push(`gain map (${m.source}): ${m.channels} channel(s), log2 boost [${m.minLog2.map((x) => x.toFixed(3))}] .. ` +
        `[${m.maxLog2.map((x) => x.toFixed(3))}], capacity ${m.capacityMin.toFixed(2)}..${m.capacityMax.toFixed(2)}, ` +
        `applied in ${u.space} (base image ${u.basePrimaries}); ${state.timings.gainmap_ms.toFixed(1)} ms`);
    }
    lines.push(`display: ${state.display}${state.fallback ? ` (${state.fallback})` : ""}`);
    $("info").textContent = lines.join("\n");
  }

  function uniforms() {
    return { view: state.view, split: state.split, hasGm: !!(state.current && state.current.gmPQ && state.current.info.container),
             gain: state.extended ? 1 : Math.pow(2, state.exposure), peak: state.extended ? Math.pow(2, state.headroom) : 1 };
  }
  let pending = false;
  function redraw() {
    if (!state.current || pending) return;
    pending = true;
    requestAnimationFrame(async () => {
      pending = false;
      try { (await backend()).display.draw(uniforms()); } catch (e) { showError(e); }
    });
    $("legend").style.display = state.view === 3 ? "flex" : "none";
    if (state.view === 4 && state.current && !(state.current.gmPQ && state.current.info.container))
      showMessage("this file has no gain map to compare the network with (open an Ultra HDR JPEG that also carries hdrkit metadata)", "info");
    else if (!state.error) showMessage("", "");
  }

  // -------------------------------------------------------------------------------------- readout
  function readout(ev) {
    const cur = state.current;
    if (!cur) return;
    const cv = ev.target, r = cv.getBoundingClientRect();
    const x = Math.floor((ev.clientX - r.left) / r.width * cur.img.width);
    const y = Math.floor((ev.clientY - r.top) / r.height * cur.img.height);
    if (x < 0 || y < 0 || x >= cur.img.width || y >= cur.img.height) return;
    const i = (y * cur.img.width + x) * 4;
    const px = (arr) => {
      const pq = [0, 1, 2].map((k) => arr[i + k]);
      const nits = pq.map(H.pqEotf);
      const Y = nits.reduce((s, v, k) => s + v * H.LUMA_2020[k], 0);
      return `${nits.map((v) => v.toFixed(1).padStart(7)).join(" ")} cd/m2 (Y ${Y.toFixed(1)})  PQ ${pq.map((v) => Math.round(v * 1023)).join(" ")}/1023`;
    };
    const lines = [`x ${x} y ${y}  SDR ${[0, 1, 2].map((k) => cur.img.rgba[i + k]).join(" ")}`,
                   `HDR (${cur.hdrSource}) ${px(cur.netPQ)}`];
    if (cur.gmPQ && cur.info.container) lines.push(`HDR (gain map) ${px(cur.gmPQ)}`);
    $("readout").textContent = lines.join("\n");
  }

  // ------------------------------------------------------------------------------------------- wiring
  function listFiles(urls) {
    const box = $("files");
    box.textContent = "";
    urls.forEach((u) => {
      const b = document.createElement("button");
      b.textContent = b.dataset.name = decodeURIComponent(u.split("/").pop());
      b.onclick = () => load(u);
      box.appendChild(b);
    });
  }
  document.querySelectorAll('input[name="view"]').forEach((el) => {
    el.checked = Number(el.value) === state.view;
    el.onchange = () => { state.view = Number(el.value); redraw(); };
  });
  $("split").oninput = (e) => { state.split = Number(e.target.value); redraw(); };
  $("exposure").oninput = (e) => { state.exposure = Number(e.target.value); $("exposure-v").textContent = `${state.exposure} EV`; redraw(); };
  $("headroom").oninput = (e) => {
    state.headroom = Number(e.target.value);
    $("headroom-v").textContent = `${state.headroom} stops (${Math.round(203 * 2 ** state.headroom)} cd/m2 peak)`;
    redraw();
    reweighGainmap();
  };
  $("headroom").oninput({ target: $("headroom") });
  $("open").onchange = (e) => { if (e.target.files.length) load(e.target.files[0]); };
  for (const c of ["canvas-gl", "canvas-gpu"]) $(c).addEventListener("mousemove", readout);
  const drop = document.body;
  drop.addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
  drop.addEventListener("dragleave", () => $("drop").classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); $("drop").classList.remove("over");
    if (e.dataTransfer.files.length) load(e.dataTransfer.files[0]);
  });
  (function legend() {
    const ctx = $("legend-bar").getContext("2d");
    for (let x = 0; x < 300; x++) {
      const t = x / 299 * 5, i = Math.min(Math.floor(t), 4), u = t - i;
      const c = [0, 1, 2].map((k) => Math.round(255 * (H.FALSE_COLOUR_RAMP[i][k] * (1 - u) + H.FALSE_COLOUR_RAMP[i + 1][k] * u)));
      ctx.fillStyle = `rgb(${c.join(",")})`;
      ctx.fillRect(x, 0, 1, 1);
    }
  })();
  window.addEventListener("unhandledrejection", (e) => { e.preventDefault(); showError(e.reason); });

  function b64(arr) {
    const u8 = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    let s = "";
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }
  const files = params.getAll("file");
  listFiles(files);
  window.hdrkitViewer = {
    state, load, redraw, backends: backend,
    setView(v, split) { state.view = v; if (split !== undefined) state.split = split; redraw(); },
    // base64 float32 RGBA PQ of the current gain map applied for a display with `stops` of headroom
    async gainmapAt(stops) {
      const cur = state.current, u = cur.info.ultrahdr;
      return b64(await (await backend()).decoder.decodeGainmap(cur.img, cur.map, u, H.gainmapWeight(u.metadata, stops)));
    },
    // base64 of the current picture's pixels: "net"/"gm" (float32 RGBA PQ code values), "sdr" (uint8 RGBA)
    pixels(which) {
      const cur = state.current;
      const a = which === "sdr" ? cur.img.rgba : which === "gm" ? cur.gmPQ : cur.netPQ;
      return a ? b64(a) : null;
    },
    ready: files.length ? load(files[0]) : Promise.resolve(null),
  };
})();

// hdrkit viewer: gain-map and display shaders (GLSL ES 3.00 and WGSL).
//
// Gain map (Ultra HDR v1 / ISO 21496-1; Apple HDRGainMap with boost = 1 + (headroom - 1) map^1.961; as
// src/hdrkit/codec/gainmap.py apply_gainmap): base image linearised with
// the sRGB EOTF (the Ultra HDR spec's base transfer, as libultrahdr does), recovery = map / 255 upsampled
// bilinearly with pixel centres aligned (sample at (x + 0.5) / scale - 0.5, clamped), raised to 1/gamma,
// log2 boost = lerp(min, max, recovery), HDR = (base + offset_sdr) 2^(weight boost) - offset_hdr, in BT.2020
// the application space: the base image's primaries (ICC, else BT.709) when the metadata says
// use_base_colour_space, else the gain-map image's ICC primaries (else BT.2020); converted to BT.2020, 1.0 = 203 cd/m2,
// clipped to [0, 10000] cd/m2 and stored as PQ code values like the network's output.  Full boost (weight 1)
// except on the extended-range display, where the weight follows the headroom slider as ISO 21496-1 says.
//
// Display views: 0 SDR, 1 HDR, 2 split (SDR left | HDR right), 3 false-colour nits, 4 network | gain map.
// HDR pixels: PQ -> cd/m2 -> relative to 203 cd/m2 -> BT.709 -> x gain (exposure) -> highlight roll-off to
// `peak` (1 on an SDR canvas, 2^headroom on an extended-range canvas) -> (extended) sRGB encoding.
"use strict";
(function (root) {
  const H = root.HDRKIT;
  // false-colour ramp: 0.1, 1, 10, 100, 1000, 10000 cd/m2 at t = 0, .2, .4, .6, .8, 1
  const RAMP = [[0.05, 0.0, 0.3], [0.0, 0.3, 1.0], [0.0, 0.9, 0.6], [0.9, 0.9, 0.0], [1.0, 0.3, 0.0], [1.0, 1.0, 1.0]];
  const f = (x) => (Number.isInteger(x) ? x + ".0" : String(x));

  function gainmapGLSL() {
    return ["#version 300 es", "precision highp float;", "precision highp int;", "precision highp sampler2D;",
      "uniform sampler2D u_sdr;", "uniform sampler2D u_map;", "uniform ivec2 u_size;", "uniform ivec2 u_msize;",
      "uniform vec2 u_scale;", "uniform vec3 u_min;", "uniform vec3 u_max;", "uniform vec3 u_gamma;",
      "uniform vec3 u_osdr;", "uniform vec3 u_ohdr;", "uniform mat3 u_to_app;", "uniform mat3 u_app_to_2020;",
      "uniform float u_weight;", "uniform int u_apple;",
      "out vec4 o_pq;", H.colourSnippet("glsl"),
      "vec3 m(int x, int y) { return texelFetch(u_map, ivec2(x, y), 0).rgb; }",
      "void main() {",
      "  ivec2 p = ivec2(gl_FragCoord.xy);",
      "  vec3 s = texelFetch(u_sdr, p, 0).rgb;",
      "  vec2 u = clamp((vec2(p) + 0.5) / u_scale - 0.5, vec2(0.0), vec2(u_msize - 1));",
      "  ivec2 i0 = ivec2(floor(u)); ivec2 i1 = min(i0 + 1, u_msize - 1); vec2 t = u - vec2(i0);",
      "  vec3 top = m(i0.x, i0.y) * (1.0 - t.x) + m(i1.x, i0.y) * t.x;",
      "  vec3 bot = m(i0.x, i1.y) * (1.0 - t.x) + m(i1.x, i1.y) * t.x;",
      "  vec3 r = top * (1.0 - t.y) + bot * t.y;",
      "  vec3 rec = pow(r, 1.0 / u_gamma);",
      "  vec3 lb = u_apple == 1 ? log2(1.0 + (exp2(u_max) - 1.0) * pow(r, vec3(1.961)))",
      "                         : u_min * (1.0 - rec) + u_max * rec;",
      "  vec3 base = u_to_app * srgb_eotf(s);",
      "  vec3 hdr = u_app_to_2020 * ((base + u_osdr) * exp2(u_weight * lb) - u_ohdr);",
      "  o_pq = vec4(pq_oetf(clamp(hdr * 203.0, 0.0, 10000.0)), 1.0);",
      "}"].join("\n");
  }

  // ISO 21496-1 / Ultra HDR weight of the map for a display with `stops` of headroom above SDR white
  // (src/hdrkit/codec/gainmap.py display_weight): clamp((stops - capacity_min) / (capacity_max - capacity_min), 0, 1)
  function gainmapWeight(meta, stops) {
    const h = Math.max(stops, 0);
    return Math.min(Math.max((h - meta.capacityMin) / (meta.capacityMax - meta.capacityMin), 0), 1);
  }

  function gainmapUniforms(img, map, uhdr, set, weight = 1) {
    const meta = uhdr.metadata;
    const W = img.width, Hh = img.height, w = map.width, h = map.height;
    if (w > W || h > Hh || w < 1 || h < 1) throw new H.HdrkitFormatError(`gain map ${w}x${h} does not fit the ${W}x${Hh} image`);
    const si = Math.max(1, Math.round(W / w));
    const exact = Math.ceil(W / si) === w && Math.ceil(Hh / si) === h;
    set("u_size", "2i", [W, Hh]); set("u_msize", "2i", [w, h]);
    set("u_scale", "2f", exact ? [si, si] : [W / w, Hh / h]);
    set("u_min", "3f", meta.minLog2); set("u_max", "3f", meta.maxLog2); set("u_gamma", "3f", meta.gamma);
    set("u_osdr", "3f", meta.offsetSdr); set("u_ohdr", "3f", meta.offsetHdr);
    set("u_to_app", "m3", H.convertMatrix(uhdr.basePrimaries, uhdr.space));
    set("u_app_to_2020", "m3", H.convertMatrix(uhdr.space, "bt2020"));
    set("u_weight", "1f", weight);
    set("u_apple", "1i", meta.source === "apple" ? 1 : 0);
  }

  // shared body of the display shaders, written once with tiny macros for the two languages
  function displayBody(lang) {
    const g = lang === "glsl";
    const v3 = g ? "vec3" : "vec3<f32>";
    const F = g ? "float" : "f32";
    const decl = (t, n, e) => (g ? `${t === "f" ? "float" : t === "v" ? "vec3" : "int"} ${n} = ${e};` : `var ${n} = ${e};`);
    const ramp = RAMP.map((c) => `${v3}(${c.map(f).join(", ")})`);
    const rampFn = g
      ? `vec3 ramp(float t) { float k = clamp(t, 0.0, 1.0) * 5.0; int i = min(int(k), 4); float u = k - float(i); ` +
        `vec3 r[6] = vec3[6](${ramp.join(", ")}); return mix(r[i], r[i + 1], u); }`
      : `fn ramp(t: f32) -> vec3<f32> { let k = clamp(t, 0.0, 1.0) * 5.0; let i = min(i32(k), 4); let u = k - f32(i); ` +
        `var r = array<vec3<f32>, 6>(${ramp.join(", ")}); return mix(r[i], r[i + 1], u); }`;
    const fn = (sig, body) => (g ? `${sig[0]} ${sig[1]}(${sig[2].map((a) => `${a[1]} ${a[0]}`).join(", ")}) { ${body} }`
      : `fn ${sig[1]}(${sig[2].map((a) => `${a[0]}: ${a[1] === "vec3" ? "vec3<f32>" : "f32"}`).join(", ")}) -> ${sig[0] === "vec3" ? "vec3<f32>" : "f32"} { ${body} }`);
    const U = g ? "u_" : "U.";
    return [
      H.colourSnippet(lang), rampFn,
      // hue-preserving roll-off of the brightest channel above 0.75 peak, asymptotic to peak
      fn(["vec3", "rolloff", [["c", "vec3"], ["M", "float"]]],
        `${decl("f", "m", "max(max(c.r, c.g), c.b)")} ${decl("f", "k", "0.75 * M")} if (m <= k) { return c; } ` +
        `${decl("f", "t", "k + (M - k) * (1.0 - exp(-(m - k) / (M - k)))")} return c * (t / m);`),
      fn(["vec3", "hdr_out", [["pq", "vec3"]]],
        `${decl("v", "c", `rolloff(max(to709(pq_eotf(pq) / 203.0), ${v3}(0.0)) * ${U}gain, ${U}peak)`)} ` +
        `if (${U}extended == 1) { return srgb_oetf(c); } return srgb_oetf(min(c, ${v3}(1.0)));`),
      fn(["vec3", "sdr_out", [["s", "vec3"]]],
        `if (${U}extended == 1) { return srgb_oetf(pow(s, ${v3}(2.4))); } return s;`),
      fn(["vec3", "shade", [["sdr", "vec3"], ["net", "vec3"], ["gm", "vec3"], ["fx", "float"], ["px", "float"]]],
        `${decl("v", "c", "hdr_out(net)")} ` +
        `if (${U}view == 0) { c = sdr_out(sdr); } ` +
        `else if (${U}view == 2) { if (fx < ${U}split) { c = sdr_out(sdr); } } ` +
        `else if (${U}view == 3) { c = ramp((log2(max(luma2020(pq_eotf(net)), 1e-4)) / log2(10.0) + 1.0) / 5.0); } ` +
        `else if (${U}view == 4) { if (fx >= ${U}split && ${U}hasgm == 1) { c = hdr_out(gm); } } ` +
        `if ((${U}view == 2 || (${U}view == 4 && ${U}hasgm == 1)) && abs(fx - ${U}split) * ${F}(${U}size.x) < 1.0) ` +
        `{ c = ${v3}(1.0, 0.85, 0.0); } return c;`),
    ].join("\n");
  }

  function displayGLSL() {
    return ["#version 300 es", "precision highp float;", "precision highp int;", "precision highp sampler2D;",
      "uniform sampler2D u_sdr;", "uniform sampler2D u_net;", "uniform sampler2D u_gm;", "uniform ivec2 u_size;",
      "uniform int u_view;", "uniform int u_hasgm;", "uniform int u_extended;", "uniform float u_split;",
      "uniform float u_gain;", "uniform float u_peak;", "out vec4 o_rgb;", displayBody("glsl"),
      "void main() {",
      "  ivec2 p = ivec2(int(gl_FragCoord.x), u_size.y - 1 - int(gl_FragCoord.y));",
      "  float fx = (float(p.x) + 0.5) / float(u_size.x);",
      "  vec3 gm = u_hasgm == 1 ? texelFetch(u_gm, p, 0).rgb : vec3(0.0);",
      "  o_rgb = vec4(shade(texelFetch(u_sdr, p, 0).rgb, texelFetch(u_net, p, 0).rgb, gm, fx, float(p.x)), 1.0);",
      "}"].join("\n");
  }

  function displayWGSL() {
    return ["struct Uniforms { size: vec2<i32>, view: i32, hasgm: i32, split: f32, gain: f32, peak: f32, extended: i32 };",
      "@group(0) @binding(0) var sdrT: texture_2d<f32>;", "@group(0) @binding(1) var netT: texture_2d<f32>;",
      "@group(0) @binding(2) var gmT: texture_2d<f32>;", "@group(0) @binding(3) var<uniform> U: Uniforms;",
      displayBody("wgsl"),
      "@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {",
      "  let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u)); return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0); }",
      "@fragment fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {",
      "  let p = vec2<i32>(pos.xy);",
      "  let fx = (f32(p.x) + 0.5) / f32(U.size.x);",
      "  var gm = vec3<f32>(0.0);",
      "  if (U.hasgm == 1) { gm = textureLoad(gmT, p, 0).rgb; }",
      "  return vec4<f32>(shade(textureLoad(sdrT, p, 0).rgb, textureLoad(netT, p, 0).rgb, gm, fx, f32(p.x)), 1.0);",
      "}"].join("\n");
  }

  Object.assign(H, { gainmapGLSL, gainmapUniforms, gainmapWeight, displayGLSL, displayWGSL, FALSE_COLOUR_RAMP: RAMP });
})(typeof window !== "undefined" ? window : globalThis);

// hdrkit viewer: the embedded network on the GPU.
//
// The forward pass is src/hdrkit/models/siren.py forward() (the fused CPU kernel models/_fusednet.py computes
// the same function): colour branch on the SDR code values (R, G, B) / 255, spatial branch on x = column/(W-1),
// y = row/(H-1) (or their Fourier features sin/cos(2^k pi x), k < K, ordered [sin x_k.., cos x_k.., sin y_k..,
// cos y_k..]), concat, merge layers, linear output layer = PQ code values (clipped to [0, 1] as
// hdrkit.codec.api.decode_arrays does).  Sine layers compute sin(omega0 (W h + b)); omega0 is folded into the
// stored weights here, and the sine argument is range-reduced in three steps (Cody-Waite) before sin() so that
// GPU sine units, which are accurate only near zero, give float32-grade results.
//
// Weights are packed as vec4s: for each layer, output group og (4 outputs), output lane j, input vec4 k:
// texel base + (4 og + j) K + k holds W[4 og + j, 4k .. 4k+3] (zero padded), then one vec4 of biases per og.
// The same packing feeds a WebGL2 fragment shader (RGBA32F texture) and a WebGPU compute shader (storage buffer);
// both shaders are generated for the descriptor's widths, so every architecture the container can name runs.
"use strict";
(function (root) {
  const H = root.HDRKIT;
  const TEX_W = 1024; // texels per row of the WebGL2 weight texture

  function plan(net) {
    const cfg = net.cfg;
    const coordDim = cfg.coordOctaves === 0 ? 2 : 4 * cfg.coordOctaves;
    const nv = (n) => Math.ceil(n / 4);
    // input segments: [array name, real floats]
    const arrays = { rgb: 3, xy: coordDim };
    let texels = 0;
    const layers = [];
    let colorIn = [["rgb", 3]], spatialIn = [["xy", coordDim]];
    let cOut = null, sOut = null, prevMerge = null;
    net.layers.forEach((l, li) => {
      let inputs;
      if (l.branch === "color") inputs = colorIn;
      else if (l.branch === "spatial") inputs = spatialIn;
      else inputs = prevMerge || [cOut, sOut];
      const outName = `h${li}`;
      const K = inputs.reduce((s, [, n]) => s + nv(n), 0), OG = nv(l.fout);
      const sine = cfg.activation === "sin" && l.branch !== "out";
      const scale = sine ? cfg.omega0 : 1;
      const base = texels;
      texels += OG * 4 * K + OG;
      layers.push({ ...l, inputs, out: outName, K, OG, base, boff: base + OG * 4 * K, scale,
                    act: l.branch === "out" ? "none" : cfg.activation });
      arrays[outName] = l.fout;
      const seg = [[outName, l.fout]];
      if (l.branch === "color") { colorIn = seg; cOut = seg[0]; }
      else if (l.branch === "spatial") { spatialIn = seg; sOut = seg[0]; }
      else prevMerge = seg;
    });
    const data = new Float32Array(Math.max(1, Math.ceil(texels / TEX_W)) * TEX_W * 4);
    for (const L of layers) {
      for (let o = 0; o < L.fout; o++) {
        let k = 0, colOff = 0;
        for (const [, n] of L.inputs) {
          for (let i = 0; i < n; i++) {
            data[(L.base + o * L.K + k + (i >> 2)) * 4 + (i & 3)] = Math.fround(L.weight[o * L.fin + colOff + i] * L.scale);
          }
          k += nv(n); colOff += n;
        }
        data[(L.boff + (o >> 2)) * 4 + (o & 3)] = Math.fround(L.bias[o] * L.scale);
      }
    }
    const flops = net.layers.reduce((s, l) => s + 2 * l.fin * l.fout, 0);
    return { layers, arrays, texels, data, coordDim, octaves: cfg.coordOctaves, flops };
  }
  // 2 pi split in three parts (6.28125 and the 12-bit head of the rest are exact in float32)
  const C1 = "6.28125", C2 = "0.0019354820251464844", C3 = "-1.7484555314695172e-07", INV2PI = "0.15915493667125702";

  // The dense layers of a plan (weights packed as above) in GLSL (`g`) or WGSL: appends to the lines L.
  function layerLines(L, layers, g) {
    for (const l of layers) {
      L.push(g ? `  vec4 ${l.out}[${l.OG}];` : `  var ${l.out}: array<vec4<f32>, ${l.OG}>;`);
      L.push(g ? `  for (int og = 0; og < ${l.OG}; og++) {` : `  for (var og = 0; og < ${l.OG}; og++) {`,
        `    ${g ? "int" : "let"} wb = ${l.base} + og * ${4 * l.K};`, g ? `    vec4 s = T(${l.boff} + og);` : `    var s = W[${l.boff} + og];`);
      const T = (q) => (g ? `T(${q})` : `W[${q}]`);
      let k0 = 0;
      for (const [name, n] of l.inputs) {
        const arr = name === "xy" ? "xy_" : name;
        const nvec = Math.ceil(n / 4);
        L.push(g ? `    for (int k = 0; k < ${nvec}; k++) { vec4 a = ${arr}[k]; int q = wb + ${k0} + k;`
                 : `    for (var k = 0; k < ${nvec}; k++) { let a = ${arr}[k]; let q = wb + ${k0} + k;`,
          `      s += ${g ? "vec4" : "vec4<f32>"}(dot(${T("q")}, a), dot(${T(`q + ${l.K}`)}, a), dot(${T(`q + ${2 * l.K}`)}, a), dot(${T(`q + ${3 * l.K}`)}, a)); }`);
        k0 += nvec;
      }
      L.push(`    ${l.out}[og] = act_${l.act}(s);`, "  }");
    }
  }

  // ------------------------------------------------------------------------------------------ GLSL
  function glsl(p) {
    const L = [];
    L.push("#version 300 es", "precision highp float;", "precision highp int;", "precision highp sampler2D;",
      "uniform sampler2D u_w;", "uniform sampler2D u_sdr;", "uniform ivec2 u_size;", "out vec4 o_pq;",
      `vec4 T(int i) { return texelFetch(u_w, ivec2(i & ${TEX_W - 1}, i >> ${Math.log2(TEX_W)}), 0); }`,
      `vec4 red(vec4 x) { vec4 k = floor(x * ${INV2PI} + 0.5); vec4 r = x - k * ${C1}; r = r - k * ${C2};` +
      ` return r - k * ${C3}; }`,
      "vec4 act_sin(vec4 x) { return sin(red(x)); }",
      "vec4 act_relu(vec4 x) { return max(x, vec4(0.0)); }",
      "vec4 act_none(vec4 x) { return x; }",
      "void main() {", "  ivec2 p = ivec2(gl_FragCoord.xy);",
      "  vec4 rgb[1]; rgb[0] = vec4(texelFetch(u_sdr, p, 0).rgb, 0.0);",
      "  vec2 xy = vec2(u_size.x > 1 ? float(p.x) / float(u_size.x - 1) : 0.0," +
      " u_size.y > 1 ? float(p.y) / float(u_size.y - 1) : 0.0);");
    const nxy = Math.ceil(p.coordDim / 4);
    L.push(`  vec4 xy_[${nxy}];`);
    if (p.octaves === 0) L.push("  xy_[0] = vec4(xy, 0.0, 0.0);");
    else {
      L.push(`  float f[${p.coordDim + (4 - (p.coordDim % 4)) % 4}];`);
      L.push(`  for (int k = 0; k < ${p.octaves}; k++) { float w = exp2(float(k)) * 3.14159265358979;` +
        ` vec4 r = red(vec4(xy * w, 0.0, 0.0)); vec4 s = sin(r); vec4 c = cos(r);` +
        ` f[k] = s.x; f[${p.octaves} + k] = c.x; f[${2 * p.octaves} + k] = s.y; f[${3 * p.octaves} + k] = c.y; }`);
      L.push(`  for (int k = 0; k < ${nxy}; k++) xy_[k] = vec4(f[4*k], f[4*k+1], f[4*k+2], f[4*k+3]);`);
    }
    layerLines(L, p.layers, true);
    L.push(`  o_pq = vec4(clamp(${p.layers[p.layers.length - 1].out}[0].rgb, 0.0, 1.0), 1.0);`, "}");
    return L.join("\n");
  }

  // the compute shaders' bindings (weights, SDR RGBA8 as u32, PQ out, band uniforms) and entry point (px, py, li)
  const WGSL_BINDINGS = ["struct Params { size: vec2<i32>, row0: i32, rows: i32 };",
      "@group(0) @binding(0) var<storage, read> W: array<vec4<f32>>;",
      "@group(0) @binding(1) var<storage, read> sdr: array<u32>;",
      "@group(0) @binding(2) var<storage, read_write> outp: array<vec4<f32>>;",
      "@group(0) @binding(3) var<uniform> P: Params;"];
  const WGSL_ENTRY = [
      "fn act_relu(x: vec4<f32>) -> vec4<f32> { return max(x, vec4<f32>(0.0)); }",
      "fn act_none(x: vec4<f32>) -> vec4<f32> { return x; }",
      "@compute @workgroup_size(8, 8)",
      "fn main(@builtin(global_invocation_id) gid: vec3<u32>) {",
      "  let px = i32(gid.x); let lr = i32(gid.y);",
      "  if (px >= P.size.x || lr >= P.rows) { return; }",
      "  let py = P.row0 + lr;",
      "  let li = lr * P.size.x + px;"];

  // ------------------------------------------------------------------------------------------ WGSL
  function wgsl(p) {
    const L = [];
    L.push(...WGSL_BINDINGS,
      `fn red(x: vec4<f32>) -> vec4<f32> { let k = floor(x * ${INV2PI} + 0.5); var r = x - k * ${C1};` +
      ` r = r - k * ${C2}; return r - k * ${C3}; }`,
      "fn act_sin(x: vec4<f32>) -> vec4<f32> { return sin(red(x)); }",
      ...WGSL_ENTRY,
      "  var rgb: array<vec4<f32>, 1>;",
      "  rgb[0] = vec4<f32>(unpack4x8unorm(sdr[li]).rgb, 0.0);",
      "  var xy = vec2<f32>(0.0, 0.0);",
      "  if (P.size.x > 1) { xy.x = f32(px) / f32(P.size.x - 1); }",
      "  if (P.size.y > 1) { xy.y = f32(py) / f32(P.size.y - 1); }");
    const nxy = Math.ceil(p.coordDim / 4);
    L.push(`  var xy_: array<vec4<f32>, ${nxy}>;`);
    if (p.octaves === 0) L.push("  xy_[0] = vec4<f32>(xy, 0.0, 0.0);");
    else {
      L.push(`  var f: array<f32, ${nxy * 4}>;`);
      L.push(`  for (var k = 0; k < ${p.octaves}; k++) { let w = exp2(f32(k)) * 3.14159265358979; ` +
        ` let r = red(vec4<f32>(xy * w, 0.0, 0.0)); let s = sin(r); let c = cos(r);` +
        ` f[k] = s.x; f[${p.octaves} + k] = c.x; f[${2 * p.octaves} + k] = s.y; f[${3 * p.octaves} + k] = c.y; }`);
      L.push(`  for (var k = 0; k < ${nxy}; k++) { xy_[k] = vec4<f32>(f[4*k], f[4*k+1], f[4*k+2], f[4*k+3]); }`);
    }
    layerLines(L, p.layers, false);
    L.push(`  outp[li] = vec4<f32>(clamp(${p.layers[p.layers.length - 1].out}[0].rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);`, "}");
    return L.join("\n");
  }

  // ------------------------------------------------------------------------------ gamma-map family
  // src/hdrkit/models/gammanet.py (decode / forward_reference): features [sin, cos](2^k pi (2v - 1)), k < K, of
  // v = x = col/(W-1), y = row/(H-1), R, G, B = code/255 (in that order); ReLU hidden layers; 3 gammas g_c;
  // PQ = clip(exp(g_c L[code_c]) - offset, 0, 1), L[code] = log(PQ^-1(203 (code/255)^2.4) + offset).
  // As the Python decoder, the first layer is evaluated through its separable tables (an identity): T_x[col]
  // (bias folded in), T_y[row], T_R/G/B[code] and L[code] are computed here in float64 (exactly as
  // gammanet.first_layer_tables / sdr_log_table, then rounded to float32) -- O(W + H) work, so the high Fourier
  // octaves never meet float32 sine units -- and the shader adds five table rows per pixel, then runs the dense
  // layers. Buffer (vec4s): T_x (W rows), T_y (H rows), T_RGB (3 x 256 rows), each of ceil(h0/4) vec4s; L (256
  // vec4s, .x); then layers l1.. and out packed as the SIREN layers.
  const SDR_WHITE = 203;
  function embed(v, K) {  // gammanet.embed: sin then cos of 2^k pi (2 v - 1)
    const out = new Float64Array(2 * K);
    for (let k = 0; k < K; k++) { const a = (2 * v - 1) * (Math.PI * 2 ** k); out[k] = Math.sin(a); out[K + k] = Math.cos(a); }
    return out;
  }

  function planGamma(net, width, height) {
    const cfg = net.cfg, h0 = cfg.hidden[0], H0V = Math.ceil(h0 / 4), nv = (n) => Math.ceil(n / 4);
    const [l0, ...rest] = net.layers;
    const kc = 2 * cfg.coordOctaves, kr = 2 * cfg.colorOctaves;
    const tx0 = 0, ty0 = tx0 + width * H0V, tc0 = ty0 + height * H0V, lt0 = tc0 + 3 * 256 * H0V;
    let texels = lt0 + 256;
    const layers = [];
    let prev = ["h0", h0];
    rest.forEach((l, i) => {
      const K = nv(l.fin), OG = nv(l.fout), base = texels;
      texels += OG * 4 * K + OG;
      const out = `h${i + 1}`;
      layers.push({ ...l, inputs: [prev], out, K, OG, base, boff: base + OG * 4 * K, act: l.branch === "out" ? "none" : "relu" });
      prev = [out, l.fout];
    });
    const data = new Float32Array(Math.max(1, Math.ceil(texels / TEX_W)) * TEX_W * 4);
    // first-layer tables: rows of sum_j e[j] w0[m, col0 + j] (+ b0[m] for T_x), float64 then float32
    const table = (at, e, col0, bias) => {
      for (let m = 0; m < h0; m++) {
        let acc = bias ? l0.bias[m] : 0;
        for (let j = 0; j < e.length; j++) acc += e[j] * l0.weight[m * l0.fin + col0 + j];
        data[at * 4 + m] = acc;
      }
    };
    for (let c = 0; c < width; c++) table(tx0 + c * H0V, embed(c / Math.max(width - 1, 1), cfg.coordOctaves), 0, true);
    for (let r = 0; r < height; r++) table(ty0 + r * H0V, embed(r / Math.max(height - 1, 1), cfg.coordOctaves), kc, false);
    for (let code = 0; code < 256; code++) {
      const e = embed(code / 255, cfg.colorOctaves);
      for (let ch = 0; ch < 3; ch++) table(tc0 + (ch * 256 + code) * H0V, e, 2 * kc + ch * kr, false);
      data[(lt0 + code) * 4] = Math.log(root.HDRKIT.pqOetf(SDR_WHITE * (code / 255) ** 2.4) + cfg.offset);
    }
    for (const L of layers) {
      for (let o = 0; o < L.fout; o++) {
        for (let i = 0; i < L.fin; i++) data[(L.base + o * L.K + (i >> 2)) * 4 + (i & 3)] = L.weight[o * L.fin + i];
        data[(L.boff + (o >> 2)) * 4 + (o & 3)] = L.bias[o];
      }
    }
    const flops = 5 * h0 + rest.reduce((s, l) => s + 2 * l.fin * l.fout, 0);
    return { family: "gamma", layers, texels, data, H0V, tx0, ty0, tc0, lt0, offset: cfg.offset, flops };
  }

  const flt = (x) => { const t = String(x); return /[.e]/.test(t) ? t : t + ".0"; };

  function glslGamma(p) {
    const L = [];
    const last = p.layers[p.layers.length - 1].out;
    L.push("#version 300 es", "precision highp float;", "precision highp int;", "precision highp sampler2D;",
      "uniform sampler2D u_w;", "uniform sampler2D u_sdr;", "uniform ivec2 u_size;", "out vec4 o_pq;",
      `vec4 T(int i) { return texelFetch(u_w, ivec2(i & ${TEX_W - 1}, i >> ${Math.log2(TEX_W)}), 0); }`,
      "vec4 act_relu(vec4 x) { return max(x, vec4(0.0)); }",
      "vec4 act_none(vec4 x) { return x; }",
      "void main() {", "  ivec2 p = ivec2(gl_FragCoord.xy);",
      "  ivec3 c = ivec3(round(texelFetch(u_sdr, p, 0).rgb * 255.0));",
      `  vec4 h0[${p.H0V}];`,
      `  for (int k = 0; k < ${p.H0V}; k++) h0[k] = act_relu(T(${p.tx0} + p.x * ${p.H0V} + k) + T(${p.ty0} + p.y * ${p.H0V} + k)` +
      ` + T(${p.tc0} + c.r * ${p.H0V} + k) + T(${p.tc0} + (256 + c.g) * ${p.H0V} + k) + T(${p.tc0} + (512 + c.b) * ${p.H0V} + k));`);
    layerLines(L, p.layers, true);
    L.push(`  vec3 lt = vec3(T(${p.lt0} + c.r).x, T(${p.lt0} + c.g).x, T(${p.lt0} + c.b).x);`,
      `  o_pq = vec4(clamp(exp(${last}[0].rgb * lt) - ${flt(p.offset)}, 0.0, 1.0), 1.0);`, "}");
    return L.join("\n");
  }

  function wgslGamma(p) {
    const L = [];
    const last = p.layers[p.layers.length - 1].out;
    L.push(...WGSL_BINDINGS,
      ...WGSL_ENTRY,
      "  let u = sdr[li];",
      "  let cr = i32(u & 255u); let cg = i32((u >> 8u) & 255u); let cb = i32((u >> 16u) & 255u);",
      `  var h0: array<vec4<f32>, ${p.H0V}>;`,
      `  for (var k = 0; k < ${p.H0V}; k++) { h0[k] = act_relu(W[${p.tx0} + px * ${p.H0V} + k] + W[${p.ty0} + py * ${p.H0V} + k]` +
      ` + W[${p.tc0} + cr * ${p.H0V} + k] + W[${p.tc0} + (256 + cg) * ${p.H0V} + k] + W[${p.tc0} + (512 + cb) * ${p.H0V} + k]); }`);
    layerLines(L, p.layers, false);
    L.push(`  let lt = vec3<f32>(W[${p.lt0} + cr].x, W[${p.lt0} + cg].x, W[${p.lt0} + cb].x);`,
      `  outp[li] = vec4<f32>(clamp(exp(${last}[0].rgb * lt) - ${flt(p.offset)}, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);`, "}");
    return L.join("\n");
  }

  // Dispatch on the container's family: the plan of `net` for a width x height picture, and its shaders.
  const planAny = (net, width, height) => (net.cfg.family === "gamma" ? planGamma(net, width, height) : plan(net));
  const glslAny = (p) => (p.family === "gamma" ? glslGamma(p) : glsl(p));
  const wgslAny = (p) => (p.family === "gamma" ? wgslGamma(p) : wgsl(p));

  Object.assign(H, { networkPlan: planAny, networkGLSL: glslAny, networkWGSL: wgslAny, WEIGHT_TEX_W: TEX_W });
})(typeof window !== "undefined" ? window : globalThis);

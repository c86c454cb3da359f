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
    for (const l of p.layers) {
      L.push(`  vec4 ${l.out}[${l.OG}];`);
      L.push(`  for (int og = 0; og < ${l.OG}; og++) {`, `    int wb = ${l.base} + og * ${4 * l.K};`,
        `    vec4 s = T(${l.boff} + og);`);
      let k0 = 0;
      for (const [name, n] of l.inputs) {
        const arr = name === "xy" ? "xy_" : name;
        const nvec = Math.ceil(n / 4);
        L.push(`    for (int k = 0; k < ${nvec}; k++) { vec4 a = ${arr}[k]; int q = wb + ${k0} + k;`,
          `      s += vec4(dot(T(q), a), dot(T(q + ${l.K}), a), dot(T(q + ${2 * l.K}), a), dot(T(q + ${3 * l.K}), a)); }`);
        k0 += nvec;
      }
      L.push(`    ${l.out}[og] = act_${l.act}(s);`, "  }");
    }
    L.push(`  o_pq = vec4(clamp(${p.layers[p.layers.length - 1].out}[0].rgb, 0.0, 1.0), 1.0);`, "}");
    return L.join("\n");
  }

  // ------------------------------------------------------------------------------------------ WGSL
  function wgsl(p) {
    const L = [];
    L.push("struct Params { size: vec2<i32>, row0: i32, rows: i32 };",
      "@group(0) @binding(0) var<storage, read> W: array<vec4<f32>>;",
      "@group(0) @binding(1) var<storage, read> sdr: array<u32>;",
      "@group(0) @binding(2) var<storage, read_write> outp: array<vec4<f32>>;",
      "@group(0) @binding(3) var<uniform> P: Params;",
      `fn red(x: vec4<f32>) -> vec4<f32> { let k = floor(x * ${INV2PI} + 0.5); var r = x - k * ${C1};` +
      ` r = r - k * ${C2}; return r - k * ${C3}; }`,
      "fn act_sin(x: vec4<f32>) -> vec4<f32> { return sin(red(x)); }",
      "fn act_relu(x: vec4<f32>) -> vec4<f32> { return max(x, vec4<f32>(0.0)); }",
      "fn act_none(x: vec4<f32>) -> vec4<f32> { return x; }",
      "@compute @workgroup_size(8, 8)",
      "fn main(@builtin(global_invocation_id) gid: vec3<u32>) {",
      "  let px = i32(gid.x); let lr = i32(gid.y);",
      "  if (px >= P.size.x || lr >= P.rows) { return; }",
      "  let py = P.row0 + lr;",
      "  let li = lr * P.size.x + px;",
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
    for (const l of p.layers) {
      L.push(`  var ${l.out}: array<vec4<f32>, ${l.OG}>;`);
      L.push(`  for (var og = 0; og < ${l.OG}; og++) {`, `    let wb = ${l.base} + og * ${4 * l.K};`,
        `    var s = W[${l.boff} + og];`);
      let k0 = 0;
      for (const [name, n] of l.inputs) {
        const arr = name === "xy" ? "xy_" : name;
        const nvec = Math.ceil(n / 4);
        L.push(`    for (var k = 0; k < ${nvec}; k++) { let a = ${arr}[k]; let q = wb + ${k0} + k;`,
          `      s += vec4<f32>(dot(W[q], a), dot(W[q + ${l.K}], a), dot(W[q + ${2 * l.K}], a), dot(W[q + ${3 * l.K}], a)); }`);
        k0 += nvec;
      }
      L.push(`    ${l.out}[og] = act_${l.act}(s);`, "  }");
    }
    L.push(`  outp[li] = vec4<f32>(clamp(${p.layers[p.layers.length - 1].out}[0].rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);`, "}");
    return L.join("\n");
  }

  Object.assign(H, { networkPlan: plan, networkGLSL: glsl, networkWGSL: wgsl, WEIGHT_TEX_W: TEX_W });
})(typeof window !== "undefined" ? window : globalThis);

// hdrkit viewer: colour maths shared by the GLSL and WGSL shaders (as source snippets) and by the pixel readout.
// PQ: SMPTE ST 2084; BT.2020 <-> BT.709 linear matrices (ITU-R BT.2087); SDR reference white 203 cd/m2
// (ITU-R BT.2408, libultrahdr kSdrWhiteNits); sRGB EOTF (IEC 61966-2-1) for Ultra HDR base images.
"use strict";
(function (root) {
  const H = (root.HDRKIT = root.HDRKIT || {});
  const M2020_TO_709 = [[1.660491002, -0.587641139, -0.072849863], [-0.124550475, 1.132899897, -0.008349423],
                        [-0.018150763, -0.100578898, 1.118729661]];
  const M709_TO_2020 = [[0.627403896, 0.329283038, 0.043313066], [0.069097289, 0.919540395, 0.011362316],
                        [0.016391439, 0.088013308, 0.895595253]];
  const PQ = { m1: 0.1593017578125, m2: 78.84375, c1: 0.8359375, c2: 18.8515625, c3: 18.6875 };
  const LUMA_2020 = [0.2627, 0.678, 0.0593];
  const SDR_WHITE = 203;

  const pqEotf = (e) => {
    const p = Math.pow(Math.max(e, 0), 1 / PQ.m2);
    return 10000 * Math.pow(Math.max(p - PQ.c1, 0) / (PQ.c2 - PQ.c3 * p), 1 / PQ.m1);
  };
  const pqOetf = (nits) => {
    const y = Math.pow(Math.min(Math.max(nits / 10000, 0), 1), PQ.m1);
    return Math.pow((PQ.c1 + PQ.c2 * y) / (1 + PQ.c3 * y), PQ.m2);
  };
  const fl = (x) => { const s = String(x); return /[.e]/.test(s) ? s : s + ".0"; };
  // "v * mat3(rows)" = M v in both GLSL and WGSL (the constructor takes columns)
  const mat = (lang, M) => lang === "glsl" ? `mat3(${M.flat().map(fl).join(", ")})`
    : `mat3x3<f32>(${M.flat().map(fl).join(", ")})`;

  function snippet(lang) {
    const v3 = lang === "glsl" ? "vec3" : "vec3<f32>";
    const fn = (name, args, ret, body) => lang === "glsl" ? `${ret === "f" ? "float" : "vec3"} ${name}(${args.map((a) => (a[1] === "f" ? "float " : "vec3 ") + a[0]).join(", ")}) { ${body} }`
      : `fn ${name}(${args.map((a) => `${a[0]}: ${a[1] === "f" ? "f32" : "vec3<f32>"}`).join(", ")}) -> ${ret === "f" ? "f32" : "vec3<f32>"} { ${body} }`;
    const let_ = lang === "glsl" ? "vec3" : "let";
    return [
      fn("pq_eotf", [["e", "v"]], "v", `${let_} p = pow(max(e, ${v3}(0.0)), ${v3}(${fl(1 / PQ.m2)})); ` +
        `return 10000.0 * pow(max(p - ${v3}(${fl(PQ.c1)}), ${v3}(0.0)) / (${v3}(${fl(PQ.c2)}) - ${fl(PQ.c3)} * p), ${v3}(${fl(1 / PQ.m1)}));`),
      fn("pq_oetf", [["nits", "v"]], "v", `${let_} y = pow(clamp(nits / 10000.0, ${v3}(0.0), ${v3}(1.0)), ${v3}(${fl(PQ.m1)})); ` +
        `return pow((${v3}(${fl(PQ.c1)}) + ${fl(PQ.c2)} * y) / (${v3}(1.0) + ${fl(PQ.c3)} * y), ${v3}(${fl(PQ.m2)}));`),
      fn("srgb_eotf", [["v", "v"]], "v", `return select_lin(v);`).replace("return select_lin(v);",
        lang === "glsl" ? "return mix(pow((v + 0.055) / 1.055, vec3(2.4)), v / 12.92, vec3(lessThanEqual(v, vec3(0.04045))));"
          : "return select(pow((v + 0.055) / 1.055, vec3<f32>(2.4)), v / 12.92, v <= vec3<f32>(0.04045));"),
      // extended sRGB encoding (sign-symmetric, continues above 1) for float canvases
      fn("srgb_oetf", [["c", "v"]], "v", lang === "glsl"
        ? "vec3 a = abs(c); vec3 e = mix(1.055 * pow(a, vec3(1.0 / 2.4)) - 0.055, 12.92 * a, vec3(lessThanEqual(a, vec3(0.0031308)))); return sign(c) * e;"
        : "let a = abs(c); let e = select(1.055 * pow(a, vec3<f32>(1.0 / 2.4)) - 0.055, 12.92 * a, a <= vec3<f32>(0.0031308)); return sign(c) * e;"),
      fn("to709", [["c", "v"]], "v", `return c * ${mat(lang, M2020_TO_709)};`),
      fn("to2020", [["c", "v"]], "v", `return c * ${mat(lang, M709_TO_2020)};`),
      fn("luma2020", [["c", "v"]], "f", `return dot(c, ${v3}(${LUMA_2020.map(fl).join(", ")}));`),
    ].join("\n");
  }

  // ---------------------------------------------------------------- primaries (src/hdrkit/color/primaries.py)
  const D65 = [0.3127, 0.329];
  const PRIMARIES = { bt709: [[0.64, 0.33], [0.3, 0.6], [0.15, 0.06], D65],
                      p3d65: [[0.68, 0.32], [0.265, 0.69], [0.15, 0.06], D65],
                      bt2020: [[0.708, 0.292], [0.17, 0.797], [0.131, 0.046], D65] };
  const xyz = ([x, y]) => [x / y, 1, (1 - x - y) / y];
  const mul = (A, B) => A.map((r) => [0, 1, 2].map((j) => r[0] * B[0][j] + r[1] * B[1][j] + r[2] * B[2][j]));
  const apply = (A, v) => A.map((r) => r[0] * v[0] + r[1] * v[1] + r[2] * v[2]);
  function inv3(m) {
    const [[a, b, c], [d, e, f], [g, h, i]] = m;
    const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
    const det = a * A + b * B + c * C;
    return [[A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
            [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
            [C / det, -(a * h - b * g) / det, (a * e - b * d) / det]];
  }
  // RGB -> XYZ of a set of primaries (columns scaled so that RGB (1,1,1) is the white)
  function rgbToXyz(name) {
    const p = PRIMARIES[name];
    const P = [0, 1, 2].map((r) => [0, 1, 2].map((c) => xyz(p[c])[r]));
    const S = apply(inv3(P), xyz(p[3]));
    return P.map((row) => row.map((v, c) => v * S[c]));
  }
  // linear RGB in primaries `a` -> linear RGB in primaries `b` (row-major 3x3)
  const convertMatrix = (a, b) => (a === b ? [[1, 0, 0], [0, 1, 0], [0, 0, 1]] : mul(inv3(rgbToXyz(b)), rgbToXyz(a)));

  Object.assign(H, { pqEotf, pqOetf, colourSnippet: snippet, M2020_TO_709, LUMA_2020, SDR_WHITE, PRIMARIES,
                     convertMatrix, inv3, mat3mul: mul, xyToXyz: xyz });
})(typeof window !== "undefined" ? window : globalThis);

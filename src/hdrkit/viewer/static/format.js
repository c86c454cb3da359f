// hdrkit viewer: parsing of untrusted files (no dependencies).
//
// * the hdrkit metadata container (mirrors src/hdrkit/codec/container.py: magic, version, flags, total length,
//   CRC-32, field-by-field bounds checks, architecture validation, parameter count, payload length, finiteness);
// * its carriers (src/hdrkit/codec/adapters.py): PNG private chunk "hdRK" (every chunk CRC checked), JPEG APP15
//   segments "HDRKIT\0" + u16 index + u16 count;
// * Ultra HDR JPEGs (src/hdrkit/codec/ultrahdr.py): MPF index, ISO 21496-1 block, Adobe hdrgm XMP.
//
// Every problem throws HdrkitFormatError with a one-line message; nothing else escapes.
"use strict";
(function (root) {
  class HdrkitFormatError extends Error {
    constructor(message) { super(message); this.name = "HdrkitFormatError"; }
  }
  const fail = (msg) => { throw new HdrkitFormatError(msg); };

  // ------------------------------------------------------------------------------------------ CRC-32
  const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    return t;
  })();
  function crc32(bytes, start = 0, end = bytes.length, seed = 0) {
    let c = (seed ^ 0xffffffff) >>> 0;
    for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  function halfToFloat(h) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  }

  // ------------------------------------------------------------------------------ hdrkit container
  const MAGIC = [72, 68, 82, 75, 77, 76, 80, 0]; // "HDRKMLP\0"
  const VERSIONS = [1, 2]; // 1: SIREN only (no family byte); 2: u8 family + that family's descriptor
  const FAMILIES = { 0: "siren", 1: "gamma" };
  const MAX_PARAMS = 4000000, MAX_SIDE = 1 << 20;
  const ACTIVATIONS = { 0: "sin", 1: "relu" };
  const QUANTS = { 0: "fp32", 1: "fp16", 2: "int8" };
  const CICP_PRIMARIES = { 1: "bt709", 9: "bt2020", 12: "p3d65" };
  const CICP_TRANSFER = { 1: "bt1886", 8: "linear", 13: "srgb", 16: "pq", 18: "hlg" };

  class Reader {
    constructor(bytes, pos, end) {
      this.b = bytes; this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.pos = pos; this.end = end;
    }
    need(n) { if (n < 0 || this.pos + n > this.end) fail("hdrkit metadata is truncated"); }
    u8() { this.need(1); return this.b[this.pos++]; }
    u16() { this.need(2); const x = this.v.getUint16(this.pos, true); this.pos += 2; return x; }
    u32() { this.need(4); const x = this.v.getUint32(this.pos, true); this.pos += 4; return x; }
    f32() { this.need(4); const x = this.v.getFloat32(this.pos, true); this.pos += 4; return x; }
  }

  // Layers of the two-branch network in storage order (src/hdrkit/models/siren.py SirenConfig.layer_shapes).
  function layerShapes(cfg) {
    const out = [];
    let prev = 3;
    cfg.color.forEach((w, i) => { out.push({ name: `color.${i}`, fin: prev, fout: w, branch: "color" }); prev = w; });
    const cOut = prev;
    prev = cfg.coordOctaves === 0 ? 2 : 4 * cfg.coordOctaves;
    cfg.spatial.forEach((w, i) => { out.push({ name: `spatial.${i}`, fin: prev, fout: w, branch: "spatial" }); prev = w; });
    prev = cOut + prev;
    cfg.merge.forEach((w, i) => { out.push({ name: `merge.${i}`, fin: prev, fout: w, branch: "merge" }); prev = w; });
    out.push({ name: "out", fin: prev, fout: 3, branch: "out" });
    return out;
  }

  function validateConfig(cfg) {
    for (const [name, widths] of [["color", cfg.color], ["spatial", cfg.spatial], ["merge", cfg.merge]]) {
      if ((widths.length === 0 && name !== "merge") || widths.some((w) => w <= 0 || w > 4096))
        fail(`hdrkit metadata has an invalid architecture: ${name} widths must be 1..4096 (and not empty for the branches), got (${widths.join(", ")})`);
    }
    if (!(cfg.omega0 > 0 && cfg.omega0 < 1e4) || !Number.isFinite(cfg.omega0))
      fail(`hdrkit metadata has an invalid architecture: omega0 must be in (0, 1e4), got ${cfg.omega0}`);
    if (cfg.coordOctaves > 16)
      fail(`hdrkit metadata has an invalid architecture: coord_octaves must be 0..16, got ${cfg.coordOctaves}`);
  }

  function sirenDescriptor(r) {
    const act = r.u8(), octaves = r.u8(), omega0 = r.f32();
    if (!(act in ACTIVATIONS)) fail(`hdrkit metadata has an unknown activation code ${act}`);
    const widths = [];
    for (const branch of ["colour", "spatial", "merge"]) {
      const n = r.u8();
      if (n > 32) fail(`hdrkit metadata has too many ${branch} layers (${n})`);
      const w = [];
      for (let i = 0; i < n; i++) w.push(r.u16());
      widths.push(w);
    }
    const cfg = { family: "siren", color: widths[0], spatial: widths[1], merge: widths[2], omega0,
                  activation: ACTIVATIONS[act], coordOctaves: octaves };
    validateConfig(cfg);
    return cfg;
  }

  // The gamma-map family (src/hdrkit/models/gammanet.py GammaConfig; container._gamma_descriptor): u8 coord
  // octaves, u8 colour octaves, f32 offset, u8 n, n x u16 hidden widths; the same limits and messages.
  function gammaDescriptor(r) {
    const coordOctaves = r.u8(), colorOctaves = r.u8(), offset = r.f32(), n = r.u8();
    if (n > 32) fail(`hdrkit metadata has too many hidden layers (${n})`);
    const hidden = [];
    for (let i = 0; i < n; i++) hidden.push(r.u16());
    const bad = (msg) => fail(`hdrkit metadata has an invalid architecture: ${msg}`);
    if (!(hidden.length >= 1 && hidden.length <= 8) || hidden.some((w) => w < 1 || w > 1024))
      bad(`hidden widths must be 1..8 layers of 1..1024, got (${hidden.join(", ")})`);
    if (!(coordOctaves >= 1 && coordOctaves <= 16)) bad(`coord_octaves must be 1..16, got ${coordOctaves}`);
    if (!(colorOctaves >= 1 && colorOctaves <= 16)) bad(`color_octaves must be 1..16, got ${colorOctaves}`);
    if (!(Number.isFinite(offset) && offset >= 1e-4 && offset <= 0.5)) bad(`offset must be in [1e-4, 0.5], got ${offset}`);
    return { family: "gamma", hidden, coordOctaves, colorOctaves, offset };
  }

  // Layers of the gamma-map network in storage order (gammanet.GammaConfig.layer_shapes): l0 on the
  // 4 K_xy + 6 K_rgb Fourier features, l1.. hidden ReLU layers, "out" to the 3 per-channel gammas.
  function gammaLayerShapes(cfg) {
    const out = [];
    let prev = 4 * cfg.coordOctaves + 6 * cfg.colorOctaves;
    cfg.hidden.forEach((w, i) => { out.push({ name: `l${i}`, fin: prev, fout: w, branch: "hidden" }); prev = w; });
    out.push({ name: "out", fin: prev, fout: 3, branch: "out" });
    return out;
  }

  function readSignal(r, what) {
    const p = r.u8(), t = r.u8(); r.u16(); const nits = r.f32();
    if (!(p in CICP_PRIMARIES) || !(t in CICP_TRANSFER))
      fail(`hdrkit metadata has unknown ${what} colour code points (${p}, ${t})`);
    if (!(Number.isFinite(nits) && nits > 0 && nits <= 100000))
      fail(`hdrkit metadata has an invalid ${what} luminance ${nits}`);
    return { primaries: CICP_PRIMARIES[p], transfer: CICP_TRANSFER[t], nits };
  }

  // Parse and validate a metadata blob (Uint8Array) -> {cfg, layers: [{name, fin, fout, weight, bias}], ...}.
  function unpackContainer(data) {
    if (data.length < 20 || MAGIC.some((m, i) => data[i] !== m)) fail("not hdrkit metadata (bad magic)");
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const version = v.getUint16(8, true), flags = v.getUint16(10, true), total = v.getUint32(12, true);
    if (!VERSIONS.includes(version))
      fail(`hdrkit metadata version ${version} is not supported (this viewer reads ${VERSIONS.join(", ")})`);
    if (flags !== 0) fail(`hdrkit metadata has unknown flags 0x${flags.toString(16).padStart(4, "0")}`);
    if (total !== data.length)
      fail(`hdrkit metadata is truncated or padded (${data.length} bytes, header says ${total})`);
    if (crc32(data, 0, total - 4) !== v.getUint32(total - 4, true)) fail("hdrkit metadata is corrupt (CRC mismatch)");
    const r = new Reader(data, 16, total - 4);
    let family = 0;
    if (version >= 2) {
      family = r.u8();
      if (!(family in FAMILIES)) fail(`hdrkit metadata has an unknown model family code ${family}`);
    }
    const cfg = FAMILIES[family] === "gamma" ? gammaDescriptor(r) : sirenDescriptor(r);
    const q = r.u8();
    if (!(q in QUANTS)) fail(`hdrkit metadata has an unknown quantisation code ${q}`);
    const quant = QUANTS[q];
    const hdr = readSignal(r, "HDR"), sdr = readSignal(r, "SDR");
    const width = r.u32(), height = r.u32(), nParams = r.u32(), nPayload = r.u32();
    if (width > MAX_SIDE || height > MAX_SIDE) fail(`hdrkit metadata has an implausible image size ${width}x${height}`);
    const shapes = cfg.family === "gamma" ? gammaLayerShapes(cfg) : layerShapes(cfg);
    const expected = shapes.reduce((s, l) => s + l.fin * l.fout + l.fout, 0);
    if (expected > MAX_PARAMS || nParams !== expected)
      fail(`hdrkit metadata parameter count ${nParams} does not match its architecture`);
    if (nPayload !== r.end - r.pos) fail("hdrkit metadata payload length does not match the blob");
    const tensor = (name, count) => {
      const a = new Float32Array(count);
      if (quant === "fp32") { r.need(4 * count); for (let i = 0; i < count; i++) a[i] = r.f32(); }
      else if (quant === "fp16") { r.need(2 * count); for (let i = 0; i < count; i++) a[i] = halfToFloat(r.u16()); }
      else {
        const scale = r.f32();
        if (!(Number.isFinite(scale) && scale > 0)) fail(`hdrkit metadata has an invalid int8 scale for ${name}`);
        r.need(count);
        for (let i = 0; i < count; i++) { const b = r.b[r.pos++]; a[i] = (b > 127 ? b - 256 : b) * Math.fround(scale); }
      }
      for (let i = 0; i < count; i++) if (!Number.isFinite(a[i])) fail(`hdrkit metadata weight ${name} is not finite`);
      return a;
    };
    const layers = shapes.map((l) => ({ ...l, weight: tensor(`${l.name}.weight`, l.fin * l.fout),
                                              bias: tensor(`${l.name}.bias`, l.fout) }));
    if (r.pos !== r.end) fail("hdrkit metadata payload length does not match its architecture");
    return { cfg, layers, quant, hdr, sdr, width, height, params: expected, bytes: data.length };
  }

  // ---------------------------------------------------------------------------------------- PNG carrier
  const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const isPng = (b) => b.length >= 8 && PNG_SIG.every((x, i) => b[i] === x);
  const fourcc = (b, at) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

  function pngChunks(data) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out = [];
    let pos = 8;
    const n = data.length;
    while (pos < n) {
      if (pos + 8 > n) fail("cannot read hdrkit metadata: PNG is truncated (incomplete chunk header)");
      const length = v.getUint32(pos), type = fourcc(data, pos + 4), end = pos + 12 + length;
      if (end > n) fail(`cannot read hdrkit metadata: PNG is truncated (chunk '${type}' runs past the end of the file)`);
      if (crc32(data, pos + 4, pos + 8 + length) !== v.getUint32(pos + 8 + length))
        fail(`cannot read hdrkit metadata: PNG chunk '${type}' has a bad CRC (corrupt file)`);
      out.push({ type, start: pos + 8, end: pos + 8 + length });
      pos = end;
      if (type === "IEND") return out;
    }
    fail("cannot read hdrkit metadata: PNG is truncated (no IEND chunk)");
  }

  function pngExtract(data) {
    const found = pngChunks(data).filter((c) => c.type === "hdRK");
    if (found.length > 1) fail("PNG holds more than one hdrkit metadata chunk");
    return found.length ? data.subarray(found[0].start, found[0].end) : null;
  }

  // --------------------------------------------------------------------------------------- JPEG carrier
  const isJpeg = (b) => b.length >= 2 && b[0] === 0xff && b[1] === 0xd8;
  const JPEG_ID = [72, 68, 82, 75, 73, 84, 0]; // "HDRKIT\0"

  // Header segments up to SOS/EOI: [{marker, start (payload), end, seg (offset of 0xFF)}] (adapters._jpeg_segments).
  function jpegSegments(data, from = 0) {
    if (!(data[from] === 0xff && data[from + 1] === 0xd8)) fail("not a JPEG file (no SOI marker)");
    const out = [];
    let pos = from + 2;
    const n = data.length;
    while (pos < n) {
      if (data[pos] !== 0xff) fail("JPEG header is corrupt (expected a marker)");
      while (pos < n && data[pos] === 0xff) pos++;
      if (pos >= n) break;
      const marker = data[pos++];
      if (marker === 0xd9 || marker === 0xda) return out;
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
      if (pos + 2 > n) fail("JPEG header is truncated");
      const length = (data[pos] << 8) | data[pos + 1];
      if (length < 2 || pos + length > n) fail("JPEG header is truncated or corrupt");
      out.push({ marker, start: pos + 2, end: pos + length, seg: pos - 2 });
      pos += length;
    }
    return out;
  }
  const startsWith = (data, at, prefix) => prefix.every((x, i) => data[at + i] === x);

  function jpegExtract(data) {
    const pieces = new Map();
    let count = null;
    for (const s of jpegSegments(data)) {
      if (s.marker !== 0xef || !startsWith(data, s.start, JPEG_ID) || s.end - s.start < JPEG_ID.length) continue;
      if (s.end - s.start < JPEG_ID.length + 4) fail("hdrkit JPEG segment is truncated");
      const at = s.start + JPEG_ID.length;
      const idx = (data[at] << 8) | data[at + 1], cnt = (data[at + 2] << 8) | data[at + 3];
      if (count === null) count = cnt;
      if (cnt !== count || idx >= cnt || pieces.has(idx)) fail("hdrkit JPEG segments are inconsistent (corrupt file)");
      pieces.set(idx, data.subarray(at + 4, s.end));
    }
    if (count === null) return null;
    if (pieces.size !== count) fail(`hdrkit metadata is incomplete: ${pieces.size} of ${count} JPEG segments`);
    let len = 0;
    for (let i = 0; i < count; i++) len += pieces.get(i).length;
    const blob = new Uint8Array(len);
    let off = 0;
    for (let i = 0; i < count; i++) { blob.set(pieces.get(i), off); off += pieces.get(i).length; }
    return blob;
  }

  // ---------------------------------------------------------------------------------------- Ultra HDR
  const ascii = (s) => Array.from(s, (c) => c.charCodeAt(0));
  const XMP_NS = ascii("http://ns.adobe.com/xap/1.0/\0");
  const ISO_NS = ascii("urn:iso:std:iso:ts:21496:-1\0");
  const MPF_ID = ascii("MPF\0");
  const MAX_LOG2 = 32;

  function validateGainmap(m) {
    for (const k of ["minLog2", "maxLog2", "gamma", "offsetSdr", "offsetHdr"])
      if (m[k].length !== 3 || !m[k].every(Number.isFinite)) fail(`gain map metadata field ${k} is not three finite numbers`);
    for (let c = 0; c < 3; c++) {
      if (!(-MAX_LOG2 <= m.minLog2[c] && m.minLog2[c] <= m.maxLog2[c] && m.maxLog2[c] <= MAX_LOG2))
        fail(`gain map content boost range [${m.minLog2[c]}, ${m.maxLog2[c]}] (log2) is invalid`);
      if (!(m.gamma[c] > 0 && m.gamma[c] <= 100)) fail(`gain map gamma ${m.gamma[c]} is out of range (0, 100]`);
      if (!(Math.abs(m.offsetSdr[c]) <= 1 && Math.abs(m.offsetHdr[c]) <= 1)) fail("gain map offsets must lie in [-1, 1]");
    }
    if (!(Number.isFinite(m.capacityMin) && Number.isFinite(m.capacityMax) && m.capacityMin >= 0 &&
          m.capacityMin < m.capacityMax && m.capacityMax <= MAX_LOG2))
      fail(`gain map HDR capacity [${m.capacityMin}, ${m.capacityMax}] (log2) is invalid`);
    return m;
  }

  function isoDecode(data, channels) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let pos = 0;
    const need = (n) => { if (pos + n > data.length) fail("ISO 21496-1 gain map metadata is truncated"); };
    const u8 = () => { need(1); return data[pos++]; };
    const u16 = () => { need(2); const x = v.getUint16(pos); pos += 2; return x; };
    const u32 = () => { need(4); const x = v.getUint32(pos); pos += 4; return x; };
    const i32 = () => { need(4); const x = v.getInt32(pos); pos += 4; return x; };
    const minVersion = u16(); u16();
    if (minVersion !== 0) fail(`unsupported ISO 21496-1 gain map metadata version ${minVersion}`);
    const flags = u8(), multi = !!(flags & 0x80);
    if (flags & 0x04) fail("gain maps with an HDR base rendition are not supported");
    const n = multi ? 3 : 1;
    let vals = [], capMin, capMax;
    if (flags & 0x08) {
      const d = u32(), bh = u32(), ah = u32();
      const fr = [];
      for (let c = 0; c < n; c++) fr.push([i32(), i32(), u32(), i32(), i32()]);
      if (d === 0) fail("ISO 21496-1 gain map metadata has a zero denominator");
      vals = fr.map((f) => f.map((x) => x / d));
      capMin = bh / d; capMax = ah / d;
    } else {
      const bn = u32(), bd = u32(), an = u32(), ad = u32();
      const fr = [];
      for (let c = 0; c < n; c++) fr.push([i32(), u32(), i32(), u32(), u32(), u32(), i32(), u32(), i32(), u32()]);
      if (bd === 0 || ad === 0 || fr.some((f) => [1, 3, 5, 7, 9].some((i) => f[i] === 0)))
        fail("ISO 21496-1 gain map metadata has a zero denominator");
      vals = fr.map((f) => [f[0] / f[1], f[2] / f[3], f[4] / f[5], f[6] / f[7], f[8] / f[9]]);
      capMin = bn / bd; capMax = an / ad;
    }
    if (!multi) vals = [vals[0], vals[0], vals[0]];
    const col = (i) => vals.map((x) => x[i]);
    return validateGainmap({ minLog2: col(0), maxLog2: col(1), gamma: col(2), offsetSdr: col(3), offsetHdr: col(4),
      capacityMin: capMin, capacityMax: capMax, channels: channels === 1 || channels === 3 ? channels : (multi ? 3 : 1),
      useBaseColourSpace: !!(flags & 0x40), source: "iso" });
  }

  const NUM_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
  const RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
  const HDRGM = "http://ns.adobe.com/hdr-gain-map/1.0/";
  // Properties of namespace `ns` in every rdf:Description of an XMP packet, attribute and element forms alike
  // (src/hdrkit/io/xmp.py): {local name: text | [items]}.  Parsed as XML by the browser; a DTD is refused.
  function xmpProperties(bytes, ns) {
    if (bytes.length > 1 << 20) fail("XMP packet is too large");
    let text = new TextDecoder("utf-8").decode(bytes).replace(/[\0\s]+$/, "");
    if (/<!\s*(DOCTYPE|ENTITY)/i.test(text)) fail("XMP packet has a document type declaration (refused: entity expansion)");
    const doc = new DOMParser().parseFromString(text, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) fail("XMP packet is not well-formed XML");
    const out = {};
    const value = (el) => {
      for (const kind of ["Seq", "Bag", "Alt"]) {
        const arr = Array.from(el.children).find((c) => c.namespaceURI === RDF && c.localName === kind);
        if (arr) return Array.from(arr.children).filter((c) => c.namespaceURI === RDF && c.localName === "li")
          .map((li) => li.textContent.trim());
      }
      return el.children.length ? null : el.textContent.trim();
    };
    const fields = (node) => {
      for (const a of Array.from(node.attributes)) if (a.namespaceURI === ns) out[a.localName] = a.value;
      for (const c of Array.from(node.children)) {
        if (c.namespaceURI === RDF && c.localName === "Description") fields(c);
        else if (c.namespaceURI === ns) { const v = value(c); if (v !== null) out[c.localName] = v; }
      }
    };
    for (const d of Array.from(doc.getElementsByTagNameNS(RDF, "Description"))) fields(d);
    return out;
  }

  function xmpDecode(bytes, channels) {
    if (bytes.length > 65502 * 4) fail("XMP packet is too large");
    const f = xmpProperties(bytes, HDRGM);
    for (const [name, v] of Object.entries(f))
      if (Array.isArray(v) && (v.length < 1 || v.length > 3)) fail(`XMP gain map field ${name} has ${v.length} values (expected 1 or 3)`);
    if (!("Version" in f)) fail("XMP has no hdrgm:Version (not a gain map)");
    if (String(f.BaseRenditionIsHDR || "False").trim().toLowerCase() === "true")
      fail("gain maps with an HDR base rendition are not supported");
    if (!("GainMapMax" in f) || !("HDRCapacityMax" in f))
      fail("XMP gain map metadata lacks hdrgm:GainMapMax or hdrgm:HDRCapacityMax");
    const num = (t, name) => {
      if (!NUM_RE.test(String(t).trim())) fail(`XMP gain map field ${name} is not a number: '${String(t).slice(0, 20)}'`);
      const x = parseFloat(t);
      if (!Number.isFinite(x)) fail(`XMP gain map field ${name} is not finite`);
      return x;
    };
    const defaults = { GainMapMin: "0", Gamma: "1", OffsetSDR: "0.015625", OffsetHDR: "0.015625" };
    const triple = (name) => {
      const raw = name in f ? f[name] : defaults[name];
      let vals = (Array.isArray(raw) ? raw : [raw]).map((x) => num(x, name));
      if (vals.length === 1) vals = [vals[0], vals[0], vals[0]];
      if (vals.length !== 3) fail(`XMP gain map field ${name} must have 1 or 3 values`);
      return vals;
    };
    return validateGainmap({ minLog2: triple("GainMapMin"), maxLog2: triple("GainMapMax"), gamma: triple("Gamma"),
      offsetSdr: triple("OffsetSDR"), offsetHdr: triple("OffsetHDR"),
      capacityMin: num(f.HDRCapacityMin || "0", "HDRCapacityMin"), capacityMax: num(f.HDRCapacityMax, "HDRCapacityMax"),
      channels, useBaseColourSpace: true, source: "xmp" });
  }

  function mpfEntries(data, start, end) {
    const b = data.subarray(start + 4, end);
    if (b.length < 8) fail("MPF index has no valid TIFF header");
    const le = b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0;
    const be = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a;
    if (!le && !be) fail("MPF index has no valid TIFF header");
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const chk = (at, n) => { if (at < 0 || at + n > b.length) fail("MPF index is truncated"); };
    const u16 = (at) => { chk(at, 2); return v.getUint16(at, le); };
    const u32 = (at) => { chk(at, 4); return v.getUint32(at, le); };
    const ifd = u32(4), count = u16(ifd);
    if (count > 64) fail("MPF index has too many tags");
    let nImages = null, entriesAt = null, entriesLen = null;
    for (let i = 0; i < count; i++) {
      const at = ifd + 2 + 12 * i, tag = u16(at), cnt = u32(at + 4);
      if (tag === 0xb001) nImages = u32(at + 8);
      else if (tag === 0xb002) { entriesLen = cnt; entriesAt = u32(at + 8); }
    }
    if (entriesAt === null || nImages === null) fail("MPF index lacks NumberOfImages or MPEntry");
    if (nImages < 1 || nImages > 16 || entriesLen !== 16 * nImages) fail("MPF index has an inconsistent number of images");
    const out = [];
    for (let k = 0; k < nImages; k++) out.push([u32(entriesAt + 16 * k), u32(entriesAt + 16 * k + 4), u32(entriesAt + 16 * k + 8)]);
    return out;
  }

  // ICC profile of a JPEG header (APP2 "ICC_PROFILE\0" + seq + count chunks, ICC.1 Annex B.4), or null.
  const ICC_ID = ascii("ICC_PROFILE\0");
  function jpegIcc(data, segs) {
    const chunks = new Map();
    let count = null;
    for (const s of segs) {
      if (s.marker !== 0xe2 || !startsWith(data, s.start, ICC_ID)) continue;
      if (s.end - s.start < ICC_ID.length + 2) fail("JPEG ICC profile segment is truncated");
      const seq = data[s.start + ICC_ID.length], cnt = data[s.start + ICC_ID.length + 1];
      if (count === null) count = cnt;
      if (cnt !== count || seq < 1 || seq > cnt || chunks.has(seq)) fail("JPEG ICC profile segments are inconsistent");
      chunks.set(seq, data.subarray(s.start + ICC_ID.length + 2, s.end));
    }
    if (count === null) return null;
    if (chunks.size !== count) fail(`JPEG ICC profile has ${chunks.size} of ${count} segments`);
    const out = new Uint8Array([...chunks.values()].reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (let i = 1; i <= count; i++) { out.set(chunks.get(i), off); off += chunks.get(i).length; }
    return out;
  }

  // Primaries an RGB matrix profile describes ("bt709" | "p3d65" | "bt2020"), or null (src/hdrkit/io/icc.py:
  // colorants brought back from the D50 PCS with the inverse chad tag, else Bradford D65 -> D50; a cicp tag wins).
  const BRADFORD = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]];
  function iccPrimaries(p) {
    if (p.length < 132 || p.length > (4 << 20) || fourcc(p, 36) !== "acsp") return null;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const count = v.getUint32(128);
    if (count > 200 || 132 + 12 * count > p.length) return null;
    const tags = {};
    for (let i = 0; i < count; i++) {
      const at = 132 + 12 * i, off = v.getUint32(at + 4), size = v.getUint32(at + 8);
      if (off + size > p.length || size < 8) return null;
      tags[fourcc(p, at)] = [off, size];
    }
    const s15 = (at) => v.getInt32(at) / 65536;
    const cicp = tags.cicp;
    if (cicp && cicp[1] >= 12 && fourcc(p, cicp[0]) === "cicp") {
      const name = CICP_PRIMARIES[p[cicp[0] + 8]];
      if (name) return name;
    }
    const col = (sig) => {
      const t = tags[sig];
      return t && t[1] >= 20 && fourcc(p, t[0]) === "XYZ " ? [0, 1, 2].map((i) => s15(t[0] + 8 + 4 * i)) : null;
    };
    const cols = ["rXYZ", "gXYZ", "bXYZ"].map(col);
    if (cols.some((c) => c === null)) return null;
    const m = [0, 1, 2].map((r) => cols.map((c) => c[r]));
    let chad = null;
    const ct = tags.chad;
    if (ct && ct[1] >= 44 && fourcc(p, ct[0]) === "sf32") chad = [0, 1, 2].map((r) => [0, 1, 2].map((c) => s15(ct[0] + 8 + 4 * (3 * r + c))));
    if (!chad) {
      const src = BRADFORD.map((r) => r[0] * root.HDRKIT.xyToXyz([0.3127, 0.329])[0] + r[1] + r[2] * root.HDRKIT.xyToXyz([0.3127, 0.329])[2]);
      const dst = BRADFORD.map((r) => r[0] * 0.9642 + r[1] + r[2] * 0.8249);
      const D = [[dst[0] / src[0], 0, 0], [0, dst[1] / src[1], 0], [0, 0, dst[2] / src[2]]];
      chad = root.HDRKIT.mat3mul(root.HDRKIT.mat3mul(root.HDRKIT.inv3(BRADFORD), D), BRADFORD);
    }
    const native = root.HDRKIT.mat3mul(root.HDRKIT.inv3(chad), m);
    const vecs = [0, 1, 2].map((c) => native.map((r) => r[c]));
    vecs.push([0, 1, 2].map((r) => native[r][0] + native[r][1] + native[r][2]));
    const chroma = vecs.flatMap((u) => { const s = u[0] + u[1] + u[2]; return Math.abs(s) > 1e-9 ? [u[0] / s, u[1] / s] : [0, 0]; });
    for (const [name, prims] of Object.entries(root.HDRKIT.PRIMARIES))
      if (prims.flat().every((x, i) => Math.abs(x - chroma[i]) <= 4e-3)) return name;
    return null;
  }

  const EXIF_ID = ascii("Exif\0\0");
  const APPLE_NOTE = ascii("Apple iOS\0");
  const APPLE_NS = "http://ns.apple.com/HDRGainMap/1.0/";
  const latin1 = (d, s) => new TextDecoder("latin1").decode(d.subarray(s.start, s.end));
  const hasApple = (data, s) => s.marker === 0xe1 && startsWith(data, s.start, EXIF_ID) &&
    latin1(data, s).includes("Apple iOS\0");

  // A gain-map JPEG: hdrgm XMP or an ISO 21496-1 block, or an MPF index next to an Apple maker note (Apple
  // gain-map JPEGs announce the map only in the map image) -- as src/hdrkit/codec/ultrahdr.py is_ultrahdr.
  function isUltraHdr(data) {
    let segs;
    try { segs = jpegSegments(data); } catch (e) { return false; }
    if (segs.some((s) => (s.marker === 0xe2 && startsWith(data, s.start, ISO_NS)) ||
        (s.marker === 0xe1 && startsWith(data, s.start, XMP_NS) && latin1(data, s).includes(HDRGM)))) return true;
    return segs.some((s) => s.marker === 0xe2 && startsWith(data, s.start, MPF_ID)) && segs.some((s) => hasApple(data, s));
  }

  // HDR headroom of a legacy Apple gain map from the primary's Exif maker note (tags 0x21 HDRHeadroom, 0x30
  // HDRGain) with Apple's published piecewise estimate; null when absent or malformed.
  function appleExifHeadroom(data, segs) {
    const s = segs.find((x) => x.marker === 0xe1 && startsWith(data, x.start, EXIF_ID));
    if (!s) return null;
    const t = data.subarray(s.start + 6, s.end);
    const v = new DataView(t.buffer, t.byteOffset, t.byteLength);
    try {
      const le = t[0] === 0x49;
      const u16 = (at) => v.getUint16(at, le), u32 = (at) => v.getUint32(at, le);
      const ifdEntry = (ifd, tag) => {
        const n = u16(ifd);
        for (let i = 0; i < Math.min(n, 512); i++) if (u16(ifd + 2 + 12 * i) === tag) return ifd + 2 + 12 * i;
        return null;
      };
      const exifPtr = ifdEntry(u32(4), 0x8769);
      if (exifPtr === null) return null;
      const mn = ifdEntry(u32(exifPtr + 8), 0x927c);
      if (mn === null) return null;
      const note = t.subarray(u32(mn + 8), u32(mn + 8) + u32(mn + 4));
      if (!startsWith(note, 0, APPLE_NOTE) || note[12] !== 0x4d || note[13] !== 0x4d) return null;
      const nv = new DataView(note.buffer, note.byteOffset, note.byteLength);
      const vals = {};
      for (let i = 0; i < Math.min(nv.getUint16(14), 256); i++) {
        const at = 16 + 12 * i, tag = nv.getUint16(at), typ = nv.getUint16(at + 2), off = nv.getUint32(at + 8);
        if ((tag === 0x21 || tag === 0x30) && (typ === 5 || typ === 10)) {
          const num = typ === 10 ? nv.getInt32(off) : nv.getUint32(off), den = typ === 10 ? nv.getInt32(off + 4) : nv.getUint32(off + 4);
          if (den) vals[tag] = num / den;
        }
      }
      if (!(0x21 in vals && 0x30 in vals)) return null;
      const m33 = vals[0x21], m48 = vals[0x30];
      const stops = m33 < 1 ? (m48 <= 0.01 ? -20 * m48 + 1.8 : -0.101 * m48 + 1.601)
                            : (m48 <= 0.01 ? -70 * m48 + 3 : -0.303 * m48 + 2.303);
      return 2 ** Math.max(stops, 0);
    } catch (e) { return null; }  // RangeError from a truncated maker note: no headroom
  }

  // Apple HDRGainMap: HDR = SDR (1 + (headroom - 1) map^1.961) (Skia SkGainmapShader), as boost [0, log2 headroom]
  function appleDecode(bytes, channels, exifHeadroom) {
    const f = xmpProperties(bytes, APPLE_NS);
    if (!("HDRGainMapVersion" in f)) fail("XMP has no HDRGainMap:HDRGainMapVersion (not an Apple gain map)");
    let headroom = exifHeadroom;
    if ("HDRGainMapHeadroom" in f) {
      if (!NUM_RE.test(String(f.HDRGainMapHeadroom).trim())) fail(`XMP gain map field HDRGainMapHeadroom is not a number: '${String(f.HDRGainMapHeadroom).slice(0, 20)}'`);
      headroom = parseFloat(f.HDRGainMapHeadroom);
    }
    if (headroom === null) fail("Apple gain map gives no headroom (neither XMP HDRGainMapHeadroom nor maker note)");
    if (!(headroom > 1 && headroom <= 2 ** 16)) fail(`Apple gain map headroom ${headroom} is out of range`);
    const top = Math.log2(headroom);
    return validateGainmap({ minLog2: [0, 0, 0], maxLog2: [top, top, top], gamma: [1, 1, 1], offsetSdr: [0, 0, 0],
      offsetHdr: [0, 0, 0], capacityMin: 0, capacityMax: top, channels, useBaseColourSpace: true, source: "apple" });
  }

  // Offset just past the EOI of the JPEG stream starting at `from` (segments walked, entropy-coded data scanned).
  function streamEnd(data, from) {
    const segs = jpegSegments(data, from);
    let pos = segs.length ? segs[segs.length - 1].end : from + 2;
    const n = data.length;
    while (pos + 1 < n) {
      if (data[pos] !== 0xff) { pos++; continue; }
      const m = data[pos + 1];
      if (m === 0xd9) return pos + 2;
      if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) { pos += 2; continue; }
      if (pos + 4 > n) break;
      pos += 2 + ((data[pos + 2] << 8) | data[pos + 3]);  // a segment between scans (DHT, SOS of a progressive file)
    }
    fail("JPEG primary image has no end (truncated file)");
  }

  // Locate and parse the gain map: {primary: Uint8Array, gainmap: Uint8Array, metadata}.
  function parseUltraHdr(data) {
    const segs = jpegSegments(data);
    const mpf = segs.filter((s) => s.marker === 0xe2 && startsWith(data, s.start, MPF_ID));
    let offset = null, size = null, primarySize = null;
    if (mpf.length) {
      const entries = mpfEntries(data, mpf[0].start, mpf[0].end);
      if (entries.length < 2) fail("MPF index lists no gain-map image");
      primarySize = entries[0][1];
      size = entries[1][1];
      offset = mpf[0].start + 4 + entries[1][2];
    } else {
      for (const s of segs.filter((s) => s.marker === 0xe1 && startsWith(data, s.start, XMP_NS))) {
        const text = new TextDecoder("latin1").decode(data.subarray(s.start, s.end));
        const m = /Item:Semantic="GainMap"[^>]{0,200}?Item:Length="(\d{1,10})"/.exec(text);
        if (m) { size = parseInt(m[1], 10); offset = data.length - size; break; }
      }
    }
    if (offset === null || !(data[offset] === 0xff && data[offset + 1] === 0xd8)) {  // the next JPEG after the primary
      const end = streamEnd(data, 0);
      offset = null;
      for (let i = end; i + 3 < data.length; i++)
        if (data[i] === 0xff && data[i + 1] === 0xd8 && data[i + 2] === 0xff) { offset = i; size = data.length - i; break; }
    }
    if (offset === null) fail("JPEG has no gain map (no second image after the primary): not Ultra HDR");
    if (!(offset > 0 && offset < data.length && size > 4 && offset + size <= data.length))
      fail("gain-map offset or size points outside the file");
    if (!(data[offset] === 0xff && data[offset + 1] === 0xd8)) fail("gain-map offset does not point at a JPEG SOI marker");
    if (primarySize === null || !(primarySize > 0 && primarySize <= offset)) primarySize = offset;
    const gmap = data.subarray(offset, offset + size);
    const gsegs = jpegSegments(gmap);
    const sof = gsegs.find((s) => (s.marker === 0xc0 || s.marker === 0xc1 || s.marker === 0xc2) && s.end - s.start >= 6);
    if (!sof) fail("gain-map JPEG has no frame header");
    const channels = gmap[sof.start + 5] === 1 ? 1 : 3;
    const iso = gsegs.find((s) => s.marker === 0xe2 && startsWith(gmap, s.start, ISO_NS));
    const gxmp = gsegs.find((s) => s.marker === 0xe1 && startsWith(gmap, s.start, XMP_NS));
    let metadata;
    const gx = gxmp ? gmap.subarray(gxmp.start + XMP_NS.length, gxmp.end) : null;
    const gxText = gx ? new TextDecoder("latin1").decode(gx) : "";
    if (iso) metadata = isoDecode(gmap.subarray(iso.start + ISO_NS.length, iso.end), channels);
    else if (gx && gxText.includes(HDRGM)) metadata = xmpDecode(gx, channels);
    else if (gx && gxText.includes(APPLE_NS)) metadata = appleDecode(gx, channels, appleExifHeadroom(data, segs));
    else fail("second image carries neither ISO 21496-1, hdrgm nor Apple HDRGainMap metadata: not a gain map");
    // the primary is decoded from everything before the gain map: some writers (Pixel cameras) declare an MPF
    // size a few hundred bytes short, and a decoder stops at the primary's EOI anyway
    // colour spaces (as src/hdrkit/codec/ultrahdr.py): the base image's ICC primaries, else BT.709; the
    // application space when not the base's: the gain-map image's ICC primaries, else BT.2020
    const prims = (d, sg) => { try { const icc = jpegIcc(d, sg); return icc ? iccPrimaries(icc) : null; } catch (e) { return null; } };
    const basePrimaries = prims(data, segs) || "bt709";
    const mapPrimaries = prims(gmap, gsegs) || "bt2020";
    return { primary: data.subarray(0, offset), primarySize, gainmap: gmap, metadata, basePrimaries, mapPrimaries,
             space: metadata.useBaseColourSpace ? basePrimaries : mapPrimaries };
  }

  // ------------------------------------------------------------------------------------------ a file
  // Inspect a whole file: {kind: "png"|"jpeg", container|null, ultrahdr|null}; throws for foreign/corrupt files.
  function inspect(data, name = "file") {
    let blob = null, kind;
    if (isPng(data)) { kind = "png"; blob = pngExtract(data); }
    else if (isJpeg(data)) { kind = "jpeg"; blob = jpegExtract(data); }
    else fail(`${name} is neither a PNG nor a JPEG picture`);
    const ultrahdr = kind === "jpeg" && isUltraHdr(data) ? parseUltraHdr(data) : null;
    if (blob === null && ultrahdr === null)
      fail(`${name} has no hdrkit metadata (it was never encoded by hdrkit, or another program re-saved it and dropped the metadata)`);
    return { kind, container: blob === null ? null : unpackContainer(blob), ultrahdr };
  }

  root.HDRKIT = root.HDRKIT || {};
  Object.assign(root.HDRKIT, { HdrkitFormatError, crc32, halfToFloat, layerShapes, gammaLayerShapes, unpackContainer, pngExtract,
    jpegExtract, jpegSegments, jpegIcc, iccPrimaries, xmpProperties, isUltraHdr, appleExifHeadroom, streamEnd, parseUltraHdr, isoDecode, xmpDecode, inspect });
})(typeof window !== "undefined" ? window : globalThis);

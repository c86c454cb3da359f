// hdrkit viewer: WebGL2 backend (fallback; also the SDR display).  The network runs in a fragment shader into an
// RGBA32F render target (EXT_color_buffer_float), read back as floats; the gain map of an Ultra HDR JPEG is
// applied in a second fragment shader; the display pass draws the chosen view tone mapped to the SDR canvas.
"use strict";
(function (root) {
  const H = root.HDRKIT;
  const VS = "#version 300 es\nvoid main() { vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));" +
    " gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0); }";
  const BAND_ROWS = 256; // rows per draw: keeps each GPU submission short (OS watchdogs) on big pictures

  class WebGL2Backend {
    constructor(canvas) {
      this.canvas = canvas || document.createElement("canvas");
      const gl = this.canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true, alpha: false });
      if (!gl) throw new H.HdrkitFormatError("this browser has neither WebGPU nor WebGL2: cannot decode on the GPU");
      if (!gl.getExtension("EXT_color_buffer_float"))
        throw new H.HdrkitFormatError("WebGL2 lacks EXT_color_buffer_float (float render targets): cannot decode");
      this.gl = gl;
      this.name = "webgl2";
      this.programs = new Map();
    }

    program(fs) {
      if (this.programs.has(fs)) return this.programs.get(fs);
      const gl = this.gl;
      const sh = (type, src) => {
        const s = gl.createShader(type);
        gl.shaderSource(s, src); gl.compileShader(s);
        if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error("shader: " + gl.getShaderInfoLog(s));
        return s;
      };
      const p = gl.createProgram();
      gl.attachShader(p, sh(gl.VERTEX_SHADER, VS)); gl.attachShader(p, sh(gl.FRAGMENT_SHADER, fs));
      gl.linkProgram(p);
      if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error("program: " + gl.getProgramInfoLog(p));
      this.programs.set(fs, p);
      return p;
    }

    texture(w, h, internal, format, type, data) {
      const gl = this.gl;
      const max = gl.getParameter(gl.MAX_TEXTURE_SIZE);
      if (w > max || h > max) throw new H.HdrkitFormatError(`picture ${w}x${h} exceeds this GPU's texture limit (${max})`);
      const t = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage2D(gl.TEXTURE_2D, 0, internal, w, h, 0, format, type, data);
      for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.NEAREST], [gl.TEXTURE_MAG_FILTER, gl.NEAREST],
                            [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]])
        gl.texParameteri(gl.TEXTURE_2D, k, v);
      return t;
    }
    sdrTexture(img) { const gl = this.gl; return this.texture(img.width, img.height, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, img.rgba); }
    floatTexture(w, h, data) { const gl = this.gl; return this.texture(w, h, gl.RGBA32F, gl.RGBA, gl.FLOAT, data); }

    // Run a fragment shader over a w x h float target; returns the RGBA float pixels (row 0 = top of the picture).
    renderFloat(fs, w, h, bind) {
      const gl = this.gl;
      const target = this.floatTexture(w, h, null);
      const fb = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, target, 0);
      if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE)
        throw new H.HdrkitFormatError("this GPU cannot render to float textures");
      const prog = this.program(fs);
      gl.useProgram(prog);
      bind(prog);
      gl.viewport(0, 0, w, h);
      gl.enable(gl.SCISSOR_TEST);
      for (let y = 0; y < h; y += BAND_ROWS) { gl.scissor(0, y, w, Math.min(BAND_ROWS, h - y)); gl.drawArrays(gl.TRIANGLES, 0, 3); }
      gl.disable(gl.SCISSOR_TEST);
      const out = new Float32Array(w * h * 4);
      gl.readPixels(0, 0, w, h, gl.RGBA, gl.FLOAT, out);
      const err = gl.getError();
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.deleteFramebuffer(fb); gl.deleteTexture(target);
      if (err !== gl.NO_ERROR) throw new Error(`WebGL error 0x${err.toString(16)} while decoding`);
      return out;
    }

    bindTex(prog, name, unit, tex) {
      const gl = this.gl;
      gl.activeTexture(gl.TEXTURE0 + unit); gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.uniform1i(gl.getUniformLocation(prog, name), unit);
    }

    // PQ code values (RGBA float, alpha 1) of the embedded network applied to the SDR picture.
    async decodeNetwork(plan, img) {
      const gl = this.gl;
      const wtex = this.floatTexture(H.WEIGHT_TEX_W, plan.data.length / 4 / H.WEIGHT_TEX_W, plan.data);
      const stex = this.sdrTexture(img);
      try {
        return this.renderFloat(H.networkGLSL(plan), img.width, img.height, (prog) => {
          this.bindTex(prog, "u_w", 0, wtex); this.bindTex(prog, "u_sdr", 1, stex);
          gl.uniform2i(gl.getUniformLocation(prog, "u_size"), img.width, img.height);
        });
      } finally { gl.deleteTexture(wtex); gl.deleteTexture(stex); }
    }

    // PQ code values of the gain-map HDR rendition (src/hdrkit/codec/gainmap.py apply_gainmap, full boost).
    async decodeGainmap(img, map, uhdr, weight = 1) {
      const gl = this.gl;
      const stex = this.sdrTexture(img), mtex = this.sdrTexture(map);
      try {
        return this.renderFloat(H.gainmapGLSL(), img.width, img.height, (prog) => {
          this.bindTex(prog, "u_sdr", 0, stex); this.bindTex(prog, "u_map", 1, mtex);
          H.gainmapUniforms(img, map, uhdr, (name, kind, v) => {
            const loc = gl.getUniformLocation(prog, name);
            if (kind === "3f") gl.uniform3f(loc, v[0], v[1], v[2]);
            else if (kind === "2f") gl.uniform2f(loc, v[0], v[1]);
            else if (kind === "2i") gl.uniform2i(loc, v[0], v[1]);
            else if (kind === "1i") gl.uniform1i(loc, v);
            else if (kind === "m3") gl.uniformMatrix3fv(loc, true, v.flat());
            else gl.uniform1f(loc, v);
          }, weight);
        });
      } finally { gl.deleteTexture(stex); gl.deleteTexture(mtex); }
    }

    // --------------------------------------------------------------------------------------- display
    setImages(img, netPQ, gmPQ) {
      const gl = this.gl;
      for (const t of this.display || []) if (t) gl.deleteTexture(t);
      this.size = [img.width, img.height];
      this.display = [this.sdrTexture(img), this.floatTexture(img.width, img.height, netPQ),
                      gmPQ ? this.floatTexture(img.width, img.height, gmPQ) : this.floatTexture(1, 1, new Float32Array(4))];
      this.canvas.width = img.width; this.canvas.height = img.height;
    }

    draw(u) {
      const gl = this.gl;
      const prog = this.program(H.displayGLSL());
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.useProgram(prog);
      ["u_sdr", "u_net", "u_gm"].forEach((n, i) => this.bindTex(prog, n, i, this.display[i]));
      gl.uniform2i(gl.getUniformLocation(prog, "u_size"), this.size[0], this.size[1]);
      gl.uniform1i(gl.getUniformLocation(prog, "u_view"), u.view);
      gl.uniform1i(gl.getUniformLocation(prog, "u_hasgm"), u.hasGm ? 1 : 0);
      gl.uniform1f(gl.getUniformLocation(prog, "u_split"), u.split);
      gl.uniform1f(gl.getUniformLocation(prog, "u_gain"), u.gain);
      gl.uniform1f(gl.getUniformLocation(prog, "u_peak"), u.peak);
      gl.uniform1i(gl.getUniformLocation(prog, "u_extended"), 0);
      gl.viewport(0, 0, this.size[0], this.size[1]);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    }
  }

  H.WebGL2Backend = WebGL2Backend;
})(typeof window !== "undefined" ? window : globalThis);

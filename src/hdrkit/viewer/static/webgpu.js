// hdrkit viewer: WebGPU backend.  The network runs in a compute shader (8 x 8 pixels per workgroup, bands of rows
// so that no binding exceeds the device's storage-buffer limit); the display renders into an rgba16float canvas
// with toneMapping {mode: "extended"} (HDR headroom on capable displays, Chrome >= 129).  Gain maps are applied by
// the WebGL2 shader (a helper context), their result displayed here like the network's.
"use strict";
(function (root) {
  const H = root.HDRKIT;

  class WebGPUBackend {
    static async create(canvas) {
      if (!root.navigator || !navigator.gpu) return null;
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) return null;
      const lim = adapter.limits;
      const device = await adapter.requestDevice({ requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize, maxBufferSize: lim.maxBufferSize } });
      return new WebGPUBackend(device, canvas, adapter);
    }

    constructor(device, canvas, adapter) {
      this.device = device; this.canvas = canvas; this.name = "webgpu";
      this.adapterInfo = adapter.info ? [adapter.info.vendor, adapter.info.architecture].filter(Boolean).join(" ") : "";
      this.pipelines = new Map();
      this.lost = null;
      device.lost.then((info) => { this.lost = info.message || "device lost"; });
    }

    async checked(what, fn) {
      this.device.pushErrorScope("validation");
      this.device.pushErrorScope("out-of-memory");
      const r = await fn();
      const oom = await this.device.popErrorScope();
      const val = await this.device.popErrorScope();
      if (oom) throw new H.HdrkitFormatError(`the GPU ran out of memory while ${what}`);
      if (val) throw new Error(`WebGPU validation error while ${what}: ${val.message}`);
      return r;
    }

    async decodeNetwork(plan, img) {
      const dev = this.device, W = img.width, Hh = img.height;
      return this.checked("decoding", async () => {
        const code = H.networkWGSL(plan);
        let pipe = this.pipelines.get(code);
        if (!pipe) {
          const module = dev.createShaderModule({ code });
          const info = await module.getCompilationInfo();
          const errs = info.messages.filter((m) => m.type === "error");
          if (errs.length) throw new Error("WGSL: " + errs.map((m) => m.message).join("; "));
          pipe = dev.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
          this.pipelines.set(code, pipe);
        }
        const limit = Math.min(dev.limits.maxStorageBufferBindingSize, 64 << 20);
        const rows = Math.max(1, Math.min(Hh, Math.floor(limit / (W * 16))));
        if (W * 16 > dev.limits.maxStorageBufferBindingSize) throw new H.HdrkitFormatError(`picture ${W} pixels wide is too wide for this GPU`);
        const usage = GPUBufferUsage;
        const wbuf = dev.createBuffer({ size: plan.texels * 16, usage: usage.STORAGE | usage.COPY_DST });
        dev.queue.writeBuffer(wbuf, 0, plan.data, 0, plan.texels * 4);
        const sbuf = dev.createBuffer({ size: W * rows * 4, usage: usage.STORAGE | usage.COPY_DST });
        const obuf = dev.createBuffer({ size: W * rows * 16, usage: usage.STORAGE | usage.COPY_SRC });
        const rbuf = dev.createBuffer({ size: W * rows * 16, usage: usage.MAP_READ | usage.COPY_DST });
        const ubuf = dev.createBuffer({ size: 16, usage: usage.UNIFORM | usage.COPY_DST });
        const bind = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [
          { binding: 0, resource: { buffer: wbuf } }, { binding: 1, resource: { buffer: sbuf } },
          { binding: 2, resource: { buffer: obuf } }, { binding: 3, resource: { buffer: ubuf } }] });
        const out = new Float32Array(W * Hh * 4);
        const sdr32 = new Uint32Array(img.rgba.buffer, img.rgba.byteOffset, W * Hh);
        try {
          for (let y0 = 0; y0 < Hh; y0 += rows) {
            const n = Math.min(rows, Hh - y0);
            dev.queue.writeBuffer(sbuf, 0, sdr32, y0 * W, n * W);
            dev.queue.writeBuffer(ubuf, 0, new Int32Array([W, Hh, y0, n]));
            const enc = dev.createCommandEncoder();
            const pass = enc.beginComputePass();
            pass.setPipeline(pipe); pass.setBindGroup(0, bind);
            pass.dispatchWorkgroups(Math.ceil(W / 8), Math.ceil(n / 8));
            pass.end();
            enc.copyBufferToBuffer(obuf, 0, rbuf, 0, n * W * 16);
            dev.queue.submit([enc.finish()]);
            await rbuf.mapAsync(GPUMapMode.READ, 0, n * W * 16);
            out.set(new Float32Array(rbuf.getMappedRange(0, n * W * 16)), y0 * W * 4);
            rbuf.unmap();
          }
        } finally { [wbuf, sbuf, obuf, rbuf, ubuf].forEach((b) => b.destroy()); }
        if (this.lost) throw new H.HdrkitFormatError(`the GPU device was lost (${this.lost})`);
        return out;
      });
    }

    async decodeGainmap(img, map, uhdr, weight = 1) {
      if (!this.gl2) this.gl2 = new H.WebGL2Backend(null);
      return this.gl2.decodeGainmap(img, map, uhdr, weight);
    }

    // ------------------------------------------------------------------------------- HDR display
    // Configure the canvas as an extended-range float canvas; false when the browser cannot.
    configureDisplay() {
      const ctx = this.canvas.getContext("webgpu");
      if (!ctx) return false;
      try {
        ctx.configure({ device: this.device, format: "rgba16float", colorSpace: "srgb", alphaMode: "opaque",
                        toneMapping: { mode: "extended" } });
      } catch (e) { return false; }
      const conf = ctx.getConfiguration ? ctx.getConfiguration() : null;
      this.ctx = ctx;
      return !!(conf && conf.toneMapping && conf.toneMapping.mode === "extended");
    }

    // Present one cleared frame and wait for it: some setups (headless Chromium on SwiftShader) lose the whole
    // WebGPU instance when a canvas is presented; then this returns the reason and the caller falls back.
    async probeDisplay() {
      try {
        const enc = this.device.createCommandEncoder();
        const pass = enc.beginRenderPass({ colorAttachments: [{ view: this.ctx.getCurrentTexture().createView(),
          loadOp: "clear", storeOp: "store", clearValue: [0, 0, 0, 1] }] });
        pass.end();
        this.device.queue.submit([enc.finish()]);
        await this.device.queue.onSubmittedWorkDone();
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      } catch (e) {
        return e.message || String(e);
      }
      return this.lost;
    }

    setImages(img, netPQ, gmPQ) {
      const dev = this.device, W = img.width, Hh = img.height;
      (this.tex || []).forEach((t) => t.destroy());
      const tex = (format, w, h, data, bpp) => {
        const t = dev.createTexture({ size: [w, h], format, usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
        dev.queue.writeTexture({ texture: t }, data, { bytesPerRow: w * bpp }, [w, h]);
        return t;
      };
      this.tex = [tex("rgba8unorm", W, Hh, img.rgba, 4), tex("rgba32float", W, Hh, netPQ, 16),
                  gmPQ ? tex("rgba32float", W, Hh, gmPQ, 16) : tex("rgba32float", 1, 1, new Float32Array(4), 16)];
      this.size = [W, Hh];
      this.canvas.width = W; this.canvas.height = Hh;
      if (!this.ctx) this.configureDisplay();
      if (!this.displayPipe) {
        const module = dev.createShaderModule({ code: H.displayWGSL() });
        const entry = (binding, sampleType) => ({ binding, visibility: GPUShaderStage.FRAGMENT, texture: { sampleType } });
        const layout = dev.createBindGroupLayout({ entries: [entry(0, "float"), entry(1, "unfilterable-float"),
          entry(2, "unfilterable-float"), { binding: 3, visibility: GPUShaderStage.FRAGMENT, buffer: { type: "uniform" } }] });
        this.displayLayout = layout;
        this.displayPipe = dev.createRenderPipeline({ layout: dev.createPipelineLayout({ bindGroupLayouts: [layout] }),
          vertex: { module, entryPoint: "vs" }, fragment: { module, entryPoint: "fs", targets: [{ format: "rgba16float" }] },
          primitive: { topology: "triangle-list" } });
        this.ubuf = dev.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      }
      this.bind = dev.createBindGroup({ layout: this.displayLayout, entries: [
        ...this.tex.map((t, i) => ({ binding: i, resource: t.createView() })), { binding: 3, resource: { buffer: this.ubuf } }] });
    }

    draw(u) {
      const dev = this.device;
      const buf = new ArrayBuffer(32), i = new Int32Array(buf), f = new Float32Array(buf);
      i[0] = this.size[0]; i[1] = this.size[1]; i[2] = u.view; i[3] = u.hasGm ? 1 : 0;
      f[4] = u.split; f[5] = u.gain; f[6] = u.peak; i[7] = 1;
      dev.queue.writeBuffer(this.ubuf, 0, buf);
      const enc = dev.createCommandEncoder();
      const pass = enc.beginRenderPass({ colorAttachments: [{ view: this.ctx.getCurrentTexture().createView(),
        loadOp: "clear", storeOp: "store", clearValue: [0, 0, 0, 1] }] });
      pass.setPipeline(this.displayPipe); pass.setBindGroup(0, this.bind); pass.draw(3); pass.end();
      dev.queue.submit([enc.finish()]);
    }
  }

  H.WebGPUBackend = WebGPUBackend;
})(typeof window !== "undefined" ? window : globalThis);

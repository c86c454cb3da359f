"""HDR image quality metrics (numpy and torch, CPU and GPU).

Inputs are absolute linear BT.2020 RGB in cd/m², ``(..., H, W, 3)``.  numpy inputs give floats computed in
float64 without importing torch; torch inputs give tensors (same dtype/device, differentiable).

* PU21 (Mantiuk & Azimi 2021): :func:`pu21_encode`, :func:`pu21_decode`; PU-PSNR, PU-PSNR-Y, PU-SSIM, PU-MS-SSIM,
  PU-FSIM, PU-VSI as ``gfxdisp/pu21:matlab/pu21_metric.m`` computes them.
* ΔE_ITP (ITU-R BT.2124): :func:`delta_e_itp`, :func:`delta_e_itp_map`.
* PQ-PSNR / PQ-SSIM on PQ code values: :func:`pq_psnr`, :func:`pq_ssim`.
* ColorVideoVDP (optional extra): :func:`cvvdp_jod`.
* Video temporal consistency: :func:`mabd_jiang2019`, :func:`mabd_kpnmfi`, :func:`warping_error` (Lai et al.
  2018, DIS flow, forward–backward occlusion mask).
* :func:`evaluate` -- all of them as the dict ``hdrkit eval --json`` prints.
"""

from hdrkit.metrics.cvvdp import cvvdp_available, cvvdp_jod
from hdrkit.metrics.evaluate import DEFAULT_METRICS, METRICS, evaluate
from hdrkit.metrics.fsim import fsim, phase_congruency, pu_fsim, pu_vsi, sdsp_saliency, vsi
from hdrkit.metrics.hue import ictcp_hue_error, neutrality
from hdrkit.metrics.itp import delta_e_itp, delta_e_itp_map
from hdrkit.metrics.mabd import mabd_jiang2019, mabd_kpnmfi, mabd_vector
from hdrkit.metrics.pq import pq_psnr, pq_ssim
from hdrkit.metrics.pu import PU21_LUMINANCE_WEIGHTS, PU21_PEAK, pu_error_map, pu_msssim, pu_psnr, pu_psnr_y, pu_ssim
from hdrkit.metrics.pu21 import PU21_L_MAX, PU21_L_MIN, PU21_PARAMETERS, pu21_decode, pu21_encode
from hdrkit.metrics.temporal import dis_flow, occlusion_mask, warping_error, warping_error_pair
from hdrkit.metrics.ssim import MATLAB_MSSSIM_WEIGHTS, WANG2003_MSSSIM_WEIGHTS, ms_ssim, psnr, ssim, ssim_map

__all__ = [
    "pu21_encode", "pu21_decode", "PU21_PARAMETERS", "PU21_L_MIN", "PU21_L_MAX", "PU21_LUMINANCE_WEIGHTS",
    "PU21_PEAK", "pu_psnr", "pu_psnr_y", "pu_ssim", "pu_msssim", "pu_fsim", "pu_vsi", "pu_error_map",
    "delta_e_itp", "delta_e_itp_map", "ictcp_hue_error", "neutrality", "pq_psnr", "pq_ssim", "cvvdp_jod", "cvvdp_available",
    "mabd_jiang2019", "mabd_kpnmfi", "mabd_vector", "warping_error", "warping_error_pair", "dis_flow",
    "occlusion_mask", "evaluate", "METRICS", "DEFAULT_METRICS",
    "psnr", "ssim", "ssim_map", "ms_ssim", "MATLAB_MSSSIM_WEIGHTS", "WANG2003_MSSSIM_WEIGHTS",
    "fsim", "vsi", "phase_congruency", "sdsp_saliency",
]

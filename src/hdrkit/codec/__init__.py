"""HDR shipped as an SDR picture + an embedded meta-learned MLP (the "MLP Embedded Inverse Tone Mapping" codec).

``encode_file`` / ``decode_file`` (files), ``encode_arrays`` / ``decode_arrays`` (pixels), the metadata
``container`` and the format ``adapters``.  See docs/CODEC.md.
"""

from hdrkit.codec.api import decode_arrays, decode_file, encode_arrays, encode_file, hdr_to_pq, make_sdr

__all__ = ["decode_arrays", "decode_file", "encode_arrays", "encode_file", "hdr_to_pq", "make_sdr"]

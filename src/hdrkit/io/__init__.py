"""Image input/output with colour meaning: OpenEXR, Radiance HDR, PFM, PNG/TIFF 8/16-bit, JPEG, AVIF.

``read_image(path) -> Image`` and ``write_image(path, img)``; see ``docs/ARCHITECTURE.md`` for the defaults.
"""

from hdrkit.io.atomic import atomic_path, atomic_write_bytes
from hdrkit.io.image import Image
from hdrkit.io.read import EXTENSIONS, MAX_PIXELS, format_of, read_image
from hdrkit.io.write import write_image

__all__ = ["Image", "read_image", "write_image", "atomic_path", "atomic_write_bytes", "EXTENSIONS",
           "MAX_PIXELS", "format_of"]

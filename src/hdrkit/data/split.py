"""The fixed train / held-out split of the real HDR panoramas for blind up-conversion (issue 16).

``../shared/data/hdr`` (8 panoramas) and the :data:`TRAIN_EXTRA` scenes of ``../shared/data/hdr_extra`` are for
training (with procedural scenes); the :data:`HELD_OUT` scenes of ``hdr_extra`` are never trained or tuned on and
are the evaluation set of ``docs/EXPAND.md``.  ``sunrise`` of ``hdr_extra`` is the same photograph as
``hdr/sunrise`` and is used for neither split; the two ``preview_*`` files of ``hdr`` duplicate content of the
full panoramas and are left out too.  The held-out scenes were chosen by name (a mix of indoor, outdoor, day,
dusk and night) before any model was trained.
"""

from __future__ import annotations

import os
from pathlib import Path

from hdrkit.errors import InputError

#: ``hdr_extra`` scenes kept for evaluation only.
HELD_OUT: tuple[str, ...] = ("apartment", "bridge", "dawn", "hall", "night", "park", "venice", "workshop")
#: ``hdr_extra`` scenes used for training.
TRAIN_EXTRA: tuple[str, ...] = ("city", "esplanade", "forest", "lab", "lobby", "sky", "studio", "sunset",
                                "warehouse")
#: Training scenes of ``hdr_extra`` kept out of a model's training when choosing between recipes (model selection
#: on pictures that model never saw, so the held-out scenes are read once, after the choice).  Fixed (issue 16,
#: round 5) before any result on them was seen: outdoor day, indoor, studio, dusk.
VALIDATION: tuple[str, ...] = ("esplanade", "lobby", "studio", "sunset")
#: Files used by neither split (duplicates).
DROPPED_EXTRA: tuple[str, ...] = ("sunrise",)
DROPPED_MAIN: tuple[str, ...] = ("preview_landscape", "preview_studio")


def _files(folder: Path, names) -> list[Path]:
    out = []
    for n in names:
        p = folder / f"{n}.exr"
        if not p.is_file():
            raise InputError(f"missing panorama {p}")
        out.append(p)
    return out


def training_files(data: str | os.PathLike, exclude=()) -> list[Path]:
    """Training panoramas under a data root holding ``hdr/`` and ``hdr_extra/`` (sorted, fixed order), less the
    ``hdr_extra`` scenes named in ``exclude`` (e.g. :data:`VALIDATION`)."""
    from hdrkit.data.pairs import list_hdr_files

    root = Path(data)
    bad = sorted(set(exclude) - set(TRAIN_EXTRA))
    if bad:
        raise InputError(f"not training scenes of hdr_extra: {', '.join(bad)}")
    main = [p for p in list_hdr_files(root / "hdr") if p.stem not in DROPPED_MAIN]
    return main + _files(root / "hdr_extra", [n for n in TRAIN_EXTRA if n not in exclude])


def validation_files(data: str | os.PathLike) -> list[Path]:
    """The model-selection panoramas (``hdr_extra`` / :data:`VALIDATION`, a subset of the training scenes)."""
    return _files(Path(data) / "hdr_extra", VALIDATION)


def held_out_files(data: str | os.PathLike) -> list[Path]:
    """The held-out panoramas (``hdr_extra`` / :data:`HELD_OUT`)."""
    return _files(Path(data) / "hdr_extra", HELD_OUT)

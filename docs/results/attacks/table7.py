"""Print the Table 7 analogue (closed-world accuracy, attack columns and immunised columns) from
one or more ``bench run --out DIR`` results.json files: ``python table7.py a.json [b.json ...]``."""
from __future__ import annotations

import json
import sys

rows: dict[str, dict[str, float]] = {}
attacks: list[str] = []
for path in sys.argv[1:]:
    for cell in json.load(open(path)):
        if cell["status"] != "ok":
            continue
        column = cell["attack"] + (" dfs" if cell["immunized"] else "")
        if column not in attacks:
            attacks.append(column)
        rows.setdefault(cell["detector"], {})[column] = cell["metrics"]["closed_world"]["acc"]
print("| detector | " + " | ".join(attacks) + " |")
print("|---" * (len(attacks) + 1) + "|")
for detector, values in rows.items():
    print(f"| {detector} | " + " | ".join(f"{100 * values[a]:.1f}" if a in values else "—" for a in attacks) + " |")

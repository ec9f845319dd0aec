"""Plots of latency against data size from docs/benchmarks/scale.json (the growing log) and
scale-after.json (the largest size again, after the fixes), as PNG (matplotlib).

.venv/bin/python bench/plots.py      # run by `make bench-scale`
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"

PAGES = {
    "regulator_search": "regulator: search page (no filter)",
    "regulator_search_provider": "regulator: search by provider",
    "regulator_search_subject": "regulator: search by subject",
    "regulator_statistics": "regulator: statistics (all time)",
    "regulator_statistics_year": "regulator: statistics (one year)",
    "dashboard_overview": "citizen: overview (50 consents, 10 000 disclosures)",
    "dashboard_disclosures": "citizen: disclosures page",
    "trivial_page": "trivial page (receipt check form)",
    "trivial_healthz": "/healthz",
}


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for path in (OUT / "scale.json", OUT / "scale-after.json"):
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        for step in data["steps"]:
            steps.append({**step, "_file": path.name})
    return steps


def main() -> None:
    steps = _steps()
    before = sorted(
        (s for s in steps if s["_file"] == "scale.json"), key=lambda s: s["log_entries"]
    )
    after = [s for s in steps if s["_file"] != "scale.json"]
    fig, ax = plt.subplots(figsize=(11, 6))
    colours: dict[str, Any] = {}
    for key, label in PAGES.items():
        points = [(s["log_entries"], s[key]["p50_ms"]) for s in before if s.get(key)]
        if points:
            (line,) = ax.plot(*zip(*points, strict=True), marker="o", label=label)
            colours[key] = line.get_color()
    for s in after:  # every page again at the largest size, after the fixes: stars
        for key in PAGES:
            if s.get(key):
                ax.plot(
                    s["log_entries"],
                    s[key]["p50_ms"],
                    marker="*",
                    markersize=13,
                    linestyle="none",
                    color=colours.get(key, "black"),
                )
        if s.get("statistics_over_entries_once_ms"):
            ax.plot(
                s["log_entries"],
                s["statistics_over_entries_once_ms"],
                marker="x",
                markersize=10,
                linestyle="none",
                color=colours.get("regulator_statistics"),
                label="statistics grouping the entries (no daily counts), once",
            )
    ax.plot([], [], marker="*", linestyle="none", color="black", label="after the fixes")
    ax.axhline(1000, color="grey", linestyle="--", linewidth=1)
    ax.text(1.1e4, 1150, "goal for the regulator's pages: 1 s", color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("integrated log entries")
    ax.set_ylabel("median latency, ms (in-process, PostgreSQL)")
    ax.set_title("Pages against the size of the log")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(OUT / "scale-pages.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    points = sorted((s["consents"], s["decision"]) for s in steps if s.get("decision"))
    xs = [p[0] for p in points]
    ax.plot(xs, [p[1]["p50_ms"] for p in points], marker="o", label="median")
    ax.fill_between(
        xs,
        [p[1]["min_ms"] for p in points],
        [p[1].get("p90_ms", p[1]["max_ms"]) for p in points],
        alpha=0.2,
        label="min – p90",
    )
    ax.set_xscale("log")
    ax.set_xlabel("consents in the database")
    ax.set_ylabel("decide_and_log, ms")
    ax.set_title("Decision latency against the number of consents")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(OUT / "scale-decision.png", dpi=110)
    print("written docs/benchmarks/scale-pages.png and scale-decision.png")


if __name__ == "__main__":
    main()

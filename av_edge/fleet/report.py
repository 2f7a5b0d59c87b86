"""The fleet view: the vehicles' periodic summaries (one JSON line each, uploaded next to the clips)
queried with DuckDB, embedded, over a local copy synced from S3.

The queries read one table, ``summaries``, and use only what DuckDB, Trino/Athena and Spark SQL
share (window functions, ``CASE``, ``NULLIF``, flat columns): when a fleet outgrows one machine, point
an external table named ``summaries`` at the same layout (``summaries/vehicle_id=<id>/<entry>.json``,
JSON lines) and run the same SQL. DuckDB extensions (httpfs) cannot be downloaded on vehicles or
here, hence the sync instead of reading S3 directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from av_edge.core.errors import AvEdgeError

SUMMARY_FILE = "summary.json"

#: name -> SQL over the table ``summaries``.
QUERIES: dict[str, str] = {
    "vehicles": """
        SELECT vehicle_id, model_version, package_version, updater_installed, updater_wanted, updater_rejected,
               shadow_candidate, time_ns
        FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY vehicle_id ORDER BY time_ns DESC) AS newest
              FROM summaries) AS latest
        WHERE newest = 1
        ORDER BY vehicle_id""",
    "activations_by_model": """
        SELECT model_version, COUNT(DISTINCT vehicle_id) AS vehicles, SUM(distance_km) AS km,
               SUM(aeb_activations) AS activations, SUM(aeb_warnings) AS warnings,
               1000.0 * SUM(aeb_activations) / NULLIF(SUM(distance_km), 0) AS activations_per_1000_km,
               1000.0 * SUM(aeb_warnings) / NULLIF(SUM(distance_km), 0) AS warnings_per_1000_km
        FROM summaries
        GROUP BY model_version
        ORDER BY model_version""",
    "latency_by_model": """
        SELECT model_version, COUNT(*) AS periods,
               AVG(perception_latency_p99_ms) AS perception_p99_ms_mean,
               MAX(perception_latency_p99_ms) AS perception_p99_ms_worst,
               AVG(aeb_latency_p99_ms) AS aeb_p99_ms_mean, MAX(aeb_latency_p99_ms) AS aeb_p99_ms_worst,
               SUM(degraded_s_total) AS degraded_s
        FROM summaries
        GROUP BY model_version
        ORDER BY model_version""",
    "shadow_agreement": """
        SELECT shadow_candidate, COUNT(DISTINCT vehicle_id) AS vehicles,
               MIN(shadow_recall_vs_live) AS recall_worst, AVG(shadow_recall_vs_live) AS recall_mean,
               MIN(shadow_precision_vs_live) AS precision_worst,
               MIN(shadow_class_agreement) AS class_agreement_worst
        FROM summaries
        WHERE shadow_candidate IS NOT NULL
        GROUP BY shadow_candidate
        ORDER BY shadow_candidate""",
}


class FleetViewError(AvEdgeError):
    """No summaries to query, or DuckDB missing."""


def sync(client: Any, bucket: str, prefix: str, directory: Path) -> int:
    """Copy ``s3://bucket/prefix/<vehicle>/<entry>/summary.json`` objects not yet here to
    ``directory/vehicle_id=<vehicle>/<entry>.json``; the number copied."""
    copied = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for item in page.get("Contents", ()):
            parts = item["Key"].split("/")
            if len(parts) < 4 or parts[-1] != SUMMARY_FILE:
                continue
            target = directory / f"vehicle_id={parts[-3]}" / f"{parts[-2]}.json"
            if target.exists() and target.stat().st_size == item["Size"]:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            partial = target.with_suffix(".part")
            partial.write_bytes(body)
            partial.replace(target)
            copied += 1
    return copied


def query(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every query of :data:`QUERIES` over the summaries under ``directory``: rows as dicts."""
    try:
        import duckdb
    except ImportError:
        raise FleetViewError("the fleet view needs DuckDB: pip install duckdb (requirements/dev.txt)") from None
    files = sorted(directory.glob("vehicle_id=*/*.json"))
    if not files:
        raise FleetViewError(f"no summaries under {directory} (av-edge fleet report --clips-bucket syncs them)")
    connection = duckdb.connect()
    source = str(directory / "vehicle_id=*" / "*.json").replace("'", "''")
    connection.execute(
        f"CREATE VIEW summaries AS SELECT * FROM read_json_auto('{source}', format = 'newline_delimited', "
        "union_by_name = true, hive_partitioning = false)"
    )
    out = {}
    for name, sql in QUERIES.items():
        cursor = connection.execute(sql)
        columns = [d[0] for d in cursor.description]
        out[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return out


def write_report(results: dict[str, list[dict[str, Any]]], output: Path) -> Path:
    """``report.md`` (a table per query) and plots of activations and latency by model version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output.mkdir(parents=True, exist_ok=True)
    lines = ["# Fleet report", ""]
    for name, rows in results.items():
        lines += [f"## {name}", ""]
        if not rows:
            lines += ["(none)", ""]
            continue
        columns = list(rows[0])
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
        lines.append("")
    figure, (activations, latency) = plt.subplots(1, 2, figsize=(11, 4))
    by_model = results["activations_by_model"]
    labels = [str(r["model_version"]) for r in by_model]
    activations.bar(labels, [r["activations_per_1000_km"] or 0.0 for r in by_model], label="activations")
    activations.bar(labels, [r["warnings_per_1000_km"] or 0.0 for r in by_model], alpha=0.5, label="warnings")
    activations.set_title("AEB per 1000 km by model version")
    activations.legend()
    timing = results["latency_by_model"]
    latency.bar([str(r["model_version"]) for r in timing], [r["perception_p99_ms_worst"] or 0.0 for r in timing])
    latency.set_title("worst perception p99 (ms) by model version")
    for axis in (activations, latency):
        axis.tick_params(axis="x", labelrotation=20, labelsize=7)
    figure.tight_layout()
    figure.savefig(output / "fleet.png", dpi=110)
    plt.close(figure)
    lines += ["![activations and latency by model version](fleet.png)", ""]
    report = output / "report.md"
    report.write_text("\n".join(lines))
    return report


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)

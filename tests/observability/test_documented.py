"""Every exported metric is documented in the README and drawn by the shipped Grafana dashboard."""

import json
import re
from pathlib import Path

from prometheus_client import Counter, Histogram

from service.observability import metrics
from service.observability.queues import QueueCollector, QueueState

ROOT = Path(__file__).resolve().parents[2]


def exported_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names.add(value._name)
    names |= {family.name for family in QueueCollector(lambda: [QueueState("q", 0, 0, 0)]).collect()}
    return names


def test_the_readme_table_lists_exactly_the_exported_metrics():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(jobsync_[a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == exported_names()


def test_the_grafana_dashboard_uses_every_metric():
    dashboard = json.loads((ROOT / "config" / "grafana-dashboard.json").read_text())
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
    missing = {name for name in exported_names() if name not in expressions}
    assert missing == set()

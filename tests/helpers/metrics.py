"""Reading a /metrics scrape: sum the samples of a metric whose labels include the given ones."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str):
        families = text_string_to_metric_families(text)
        self.samples = [sample for family in families for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        return sum(sample.value for sample in self.samples
                   if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def scrape(client, **headers) -> Scrape:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    return Scrape(response.get_data(as_text=True))

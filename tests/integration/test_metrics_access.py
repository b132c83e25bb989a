"""Who may read the API's /metrics (VEZA_METRICS_ALLOW), and labels a client cannot invent."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from tests.helpers import assert_problem
from veza.errors import ConfigError
from veza.runtime import Services
from veza.settings import Settings

pytestmark = pytest.mark.integration


def scrape(client: FlaskClient, address: str = "127.0.0.1") -> Any:
    return client.get("/metrics", environ_base={"REMOTE_ADDR": address})


def http_series(client: FlaskClient) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    response = scrape(client)
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items())))
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples if s.name.startswith("veza_http_")}


def test_metrics_answer_loopback_only_by_default(client: FlaskClient) -> None:
    assert scrape(client).status_code == 200
    assert scrape(client, "::1").status_code == 200
    assert scrape(client, "::ffff:127.0.0.1").status_code == 200
    for outsider in ("203.0.113.9", "10.1.2.3", "2001:db8::1"):
        body = assert_problem(scrape(client, outsider), 403, "forbidden")
        assert "VEZA_METRICS_ALLOW" in body["detail"]


def test_the_operator_names_who_may_scrape(services: Services) -> None:
    settings = services.settings.replace(metrics_allow=("10.0.0.0/8", "2001:db8::/32"))
    client = create_app(settings, services).test_client()
    assert scrape(client, "10.20.30.40").status_code == 200
    assert scrape(client, "2001:db8::7").status_code == 200
    assert_problem(scrape(client), 403, "forbidden")
    settings = Settings.from_env({"VEZA_METRICS_ALLOW": " 192.0.2.0/24 , 198.51.100.7 "})
    assert settings.metrics_allow == ("192.0.2.0/24", "198.51.100.7")
    with pytest.raises(ConfigError, match="VEZA_METRICS_ALLOW .* got 'everyone'"):
        Settings.from_env({"VEZA_METRICS_ALLOW": "10.0.0.0/8,everyone"})


def test_invented_methods_are_counted_as_other(client: FlaskClient) -> None:
    client.open("/api/v1/tracks", method="BREW")
    before = http_series(client)
    for method in ("PROPFIND", "XYZZY", "M" * 200):
        assert client.open("/api/v1/tracks", method=method).status_code == 405
    after = http_series(client)
    assert {dict(labels)["method"] for _, labels in after} <= {
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert {s for s in after - before if dict(s[1])["endpoint"] != "/metrics"} == set()
    other = [labels for name, labels in after if name == "veza_http_requests_total"
             and dict(labels)["method"] == "other"]
    assert other == [(("endpoint", "unmatched"), ("method", "other"), ("status", "405"))]

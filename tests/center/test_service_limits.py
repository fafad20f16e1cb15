"""Rate limits on report and pull: a flood past the limit gets 429 with Retry-After and
changes nothing, the limit refills with time, and everyone else is still served."""

from __future__ import annotations

import pytest
from service_helpers import CARD, make_env, home_template  # noqa: F401  (fixture)

from center.service import Bucket, ServiceLimits
from center.service.limits import RateLimiter, retry_after

TIGHT = ServiceLimits(report_per_token=Bucket(per_s=0.5, burst=3),
                      report_per_address=Bucket(per_s=1.0, burst=5),
                      pull_per_token=Bucket(per_s=0.1, burst=2),
                      pull_per_address=Bucket(per_s=1.0, burst=4),
                      login_per_address=Bucket(per_s=1.0, burst=2))


@pytest.fixture
def tight(tmp_path, home_template):
    return make_env(tmp_path, TIGHT, template=home_template)


def _card(i: int) -> str:
    return str(4000000000000000 + i)


def test_a_report_flood_from_one_token_gets_429_and_changes_nothing(tight):
    c = tight.client("operator")
    for i in range(3):
        assert c.put(f"/v1/cards/{_card(i)}", json={}).status_code == 200
    before = tight.state()
    r = c.put(f"/v1/cards/{_card(3)}", json={})
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert r.headers["retry-after"] == "2"  # one request at 0.5/s: 2 s
    assert "0.5/s" in r.json()["detail"]
    assert tight.state() == before
    tight.monotonic.t += 2.0
    assert c.put(f"/v1/cards/{_card(3)}", json={}).status_code == 200


def test_one_tokens_flood_leaves_other_operators_served(tight):
    app = tight.app()
    from fastapi.testclient import TestClient

    flooder, other = TestClient(app), TestClient(app)
    flooder.headers["Authorization"] = f"Bearer {tight.tokens['operator']}"
    other.headers["Authorization"] = f"Bearer {tight.tokens['admin']}"
    codes = [flooder.put(f"/v1/cards/{_card(i)}", json={}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert other.put(f"/v1/cards/{_card(10)}", json={}).status_code == 200
    assert other.get("/v1/stats").status_code == 200  # reads are not limited


def test_the_address_limit_counts_every_token_and_bad_ones_too(tight):
    app = tight.app()
    from fastapi.testclient import TestClient

    c = TestClient(app)
    roles = ["operator", "admin", "issuer"]
    codes = []
    for i in range(5):
        c.headers["Authorization"] = f"Bearer {tight.tokens[roles[i % 3]]}"
        codes.append(c.put(f"/v1/cards/{_card(i)}", json={}).status_code)
    assert codes == [200] * 5
    c.headers["Authorization"] = "Bearer hc_guess"
    r = c.put(f"/v1/cards/{_card(9)}", json={})
    assert r.status_code == 429 and "address" in r.json()["detail"]
    before = tight.operators.authentications
    c.put(f"/v1/cards/{_card(9)}", json={})
    assert tight.operators.authentications == before  # refused before the store is asked


def test_pulls_are_limited_per_terminal(tight):
    c = tight.client("terminal")
    codes = [c.get("/v1/bundles?epoch=1&seq=0").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = c.get("/v1/bundles?epoch=1&seq=0")
    assert r.headers["retry-after"] == "10"


def test_reads_and_the_page_are_not_limited_by_report_buckets(tight):
    c = tight.client("auditor")
    assert all(c.get("/v1/cards").status_code == 200 for _ in range(20))


def test_the_bucket_refills_at_its_rate_and_caps_at_its_burst():
    t = [0.0]
    limiter = RateLimiter(lambda: t[0])
    bucket = Bucket(per_s=2.0, burst=4)
    assert [limiter.wait_s(("k",), bucket) for _ in range(4)] == [0.0] * 4
    assert limiter.wait_s(("k",), bucket) == pytest.approx(0.5)
    t[0] += 100.0  # a long quiet spell refills to the burst, no further
    assert [limiter.wait_s(("k",), bucket) == 0.0 for _ in range(5)] == [True] * 4 + [False]


def test_the_limiter_keeps_a_bounded_number_of_keys():
    t = [0.0]
    limiter = RateLimiter(lambda: t[0], max_keys=100)
    bucket = Bucket(per_s=1.0, burst=1)
    for i in range(1000):
        limiter.wait_s((i,), bucket)
    assert len(limiter._levels) <= 100


@pytest.mark.parametrize("wait, header", [(0.01, 1), (1.0, 1), (1.2, 2), (9.99, 10)])
def test_retry_after_is_whole_seconds_rounded_up(wait, header):
    assert retry_after(wait) == header


@pytest.mark.parametrize("kwargs, field", [
    ({"per_s": 0, "burst": 1}, "per_s"), ({"per_s": 1, "burst": 0}, "burst")])
def test_bad_buckets_are_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Bucket(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    ({"max_body_bytes": 0}, "max_body_bytes"), ({"header_timeout_s": 0}, "header_timeout_s"),
    ({"heartbeat_every_s": 0}, "heartbeat_every_s")])
def test_bad_limits_are_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ServiceLimits(**kwargs)

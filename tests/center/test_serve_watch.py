"""serve's registry watch on both backends: an edit after the newest build is pending until a
list is built; on PostgreSQL it asks through the registry's portable queries (it read the
SQLite file directly before), and the busy probe is the home's writer lock."""

from __future__ import annotations

from center_helpers import NOW, OPERATOR
from pg_fixtures import any_home, backend, db, pg_url  # noqa: F401 - fixtures

from center.air.watch import RegistryWatch


def test_an_edit_is_pending_until_a_list_is_built(any_home) -> None:  # noqa: F811
    watch = RegistryWatch(any_home.path)
    try:
        assert not watch.edits_pending()
        any_home.revoke(["4929123412341234"], now=NOW, by=OPERATOR)
        assert watch.edits_pending() and watch.last_edit() > 0
        any_home.build(now=NOW, by=OPERATOR)
        assert not watch.edits_pending()
        any_home.reinstate(["4929123412341234"], now=NOW, by=OPERATOR)
        assert watch.edits_pending()
        assert watch.writer_busy() is None
    finally:
        watch.close()

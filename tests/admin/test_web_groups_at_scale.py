"""The pages' SKU groups counted in SQL (issue #18): the group's SKU ids come from the engine's
snapshot, so the inbox filter, the dashboard and the report follow a catalogue or ruleset
change at once, and a group reading ``warehouse.*`` holds per warehouse what ``groups_for``
says."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from engine.services import group_sql
from engine.storage.database import make_engine
from engine.storage.tables import skus
from tests.admin.web_seed import MASTER_DATA, RULESET, login, seed_with_client

LOW_1, LOW_2, OUT_2 = "补货 SKU-1 @ WH-1", "补货 SKU-2 @ WH-1", "缺货 SKU-2"


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def titles(page: Any) -> list[str]:
    return re.findall(r'class="task-link">([^<]+)<', page.get_data(as_text=True))


def admin_put(client: Any, runner: Any, path: str, body: Any, content_type: str) -> None:
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    kwargs: dict[str, Any] = ({"json": body} if content_type == "application/json"
                              else {"data": body, "content_type": content_type})
    answer = client.put(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def cheap_row(client: Any) -> str:
    html = client.get("/dashboard").get_data(as_text=True)
    table = re.search(r'id="alerts-by-group".*?</table>', html, re.S)
    assert table is not None
    row = re.search(r"<tr>(?:(?!</tr>).)*group=cheap(?:(?!</tr>).)*</tr>", table.group(0), re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(0))).strip() if row else ""


def test_the_group_filter_and_counts_follow_a_catalogue_and_a_ruleset_change(
        seeded, runner) -> None:
    login(seeded, "alice")
    assert titles(seeded.get("/tasks?group=cheap&each=1")) == [OUT_2, LOW_2]
    assert cheap_row(seeded).endswith("2")  # SKU-2's two open alerts
    # SKU-1 becomes cheap: the catalogue's revision changes, so does the snapshot
    changed = [dict(s, unit_cost=0.8) if s["code"] == "SKU-1" else s
               for s in MASTER_DATA["/api/v1/skus"]]
    admin_put(seeded, runner, "/api/v1/skus", changed, "application/json")
    assert titles(seeded.get("/tasks?group=cheap&each=1")) == [OUT_2, LOW_2, LOW_1]
    assert titles(seeded.get("/tasks?group=cheap")) == [OUT_2, LOW_1]  # one row per pair
    assert cheap_row(seeded).endswith("3")
    # the group now asks for less than 0.6: only SKU-2 again
    admin_put(seeded, runner, "/api/v1/ruleset",
              RULESET.replace('"sku.unit_cost", 0]}, 1]', '"sku.unit_cost", 0]}, 0.6]'),
              "application/yaml")
    assert titles(seeded.get("/tasks?group=cheap&each=1")) == [OUT_2, LOW_2]
    assert cheap_row(seeded).endswith("2")


def test_members_of_a_group_reading_the_warehouse_are_those_groups_for_gives(
        seeded, runner, services) -> None:
    admin_put(seeded, runner, "/api/v1/warehouses",
              [*MASTER_DATA["/api/v1/warehouses"], {"code": "WH-2", "name": "北京仓",
                                                    "region": "north"}], "application/json")
    east_cheap = ('  - {id: east-cheap, where: {"and": [{"<": [{"var": "sku.unit_cost"}, 1]}, '
                  '{"==": [{"var": "warehouse.region"}, "east"]}]}}\n')
    admin_put(seeded, runner, "/api/v1/ruleset",
              RULESET.replace("roles:\n", east_cheap + "roles:\n", 1), "application/yaml")
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
    wh = snap.warehouse_ids
    members = snap.group_members("east-cheap")
    assert members == {wh["WH-1"]: [snap.sku_ids["SKU-2"]]}  # none in WH-2: left out
    for group in ("cheap", "east-cheap"):
        for sku_code, sku_id in snap.sku_ids.items():
            for wh_code, wh_id in wh.items():
                expected = group in snap.groups_for(sku_code, wh_code)
                assert (group in snap.pair_groups(sku_id, wh_id)) is expected
                assert (sku_id in snap.group_members(group).get(wh_id, ())) is expected
    assert snap.pair_groups(10_000, wh["WH-1"]) == ()  # not in the catalogue
    # the dashboard's and report's counts: per profile × warehouse, as pair_groups per row
    rows = [(sku_id, wh_id, key) for sku_id in [*snap.sku_ids.values(), 10_000]
            for wh_id in wh.values() for key in ("high", "low", "high")]
    expected_tally = Counter((snap.pair_groups(s, w), k) for s, w, k in rows)
    assert snap.tally_by_groups(*zip(*rows)) == expected_tally
    known = [r for r in rows if r[0] != 10_000]  # every SKU with a profile: the fast path
    assert snap.tally_by_groups(*zip(*known)) == Counter(
        (snap.pair_groups(s, w), k) for s, w, k in known)
    assert sum(n for (groups, _), n in expected_tally.items() if "east-cheap" in groups) == 3


def test_many_ids_are_one_parameter_on_either_database(db_url: str) -> None:
    engine = make_engine(db_url)
    now = datetime(2026, 12, 8, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(skus), [
            {"id": i, "code": f"S-{i}", "name": f"n{i}", "tags": [], "attributes": {},
             "updated_at": now} for i in range(1, 41)])
        wanted = list(range(2, 70_000, 3))  # more ids than either database takes parameters
        found = conn.execute(select(skus.c.id).where(group_sql.among(conn, skus.c.id, wanted,
                                                                       "ids"))
                             .order_by(skus.c.id)).scalars().all()
        assert found == [i for i in range(1, 41) if i % 3 == 2]
        # per warehouse: the SKU ids column against warehouse 1's list, here the id itself
        in_group = group_sql.in_group(conn, {1: [5, 7], 2: [5], 3: []}, skus.c.id,
                                      skus.c.id % 2, "g")
        found = conn.execute(select(skus.c.id).where(in_group).order_by(skus.c.id)).scalars()
        assert found.all() == [5, 7]  # id % 2 == 1 is "warehouse" 1; 2 is never a remainder
        nothing = group_sql.in_group(conn, {1: []}, skus.c.id, skus.c.id, "none")
        assert conn.execute(select(skus.c.id).where(nothing)).first() is None
    engine.dispose()


def test_search_finds_any_part_of_a_code_or_name_whatever_its_length(seeded) -> None:
    """On PostgreSQL the search goes through trigram indexes (migration 0018): the same rows
    as reading every SKU, for parts shorter than a trigram too."""
    login(seeded, "alice")
    assert titles(seeded.get("/tasks?q=otato+chi&each=1")) == [OUT_2, LOW_2]  # mid-name
    assert titles(seeded.get("/tasks?q=-2&each=1")) == [OUT_2, LOW_2]  # two characters
    assert titles(seeded.get("/tasks?q=GREEN+TEA&each=1")) == [LOW_1]
    assert titles(seeded.get("/tasks?q=SKU_1")) == []  # '_' is a character, not a wildcard
    assert titles(seeded.get("/tasks?q=茶&each=1")) == [LOW_1]  # one character

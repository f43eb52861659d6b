"""REST: POST /api/v1/imports/{plugin} answers 202 with a run; the run is a job."""

from __future__ import annotations

import io
from typing import Any

from engine.services import catalog

STOCK = "存货编码,仓库,现存数量\n001001,上海仓,12\n001002,WH-SH,坏\n".encode("gbk")


def seed(services: Any) -> None:
    now = services.clock.now()
    with services.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [{"code": "WH-SH", "name": "上海仓"}], "t", now)
        catalog.put_rows(uow.conn, "skus", [{"code": "001001", "name": "a"},
                                            {"code": "001002", "name": "b"}], "t", now)
        uow.commit()


def upload(client: Any, headers: dict[str, str], **fields: Any) -> Any:
    data = {"file": (io.BytesIO(STOCK), "库存.csv"), **fields}
    return client.post("/api/v1/imports/csv", data=data, headers=headers,
                       content_type="multipart/form-data")


def test_an_upload_starts_a_run_and_the_run_says_how_it_went(
        client: Any, admin_headers: dict[str, str], services: Any) -> None:
    seed(services)
    answer = upload(client, admin_headers, kind="stock")
    assert answer.status_code == 202, answer.json
    assert answer.headers["Location"] == answer.json["url"] == f"/api/v1/imports/runs/{answer.json['id']}"
    services.jobs.wait_imports()
    run = client.get(answer.json["url"], headers=admin_headers).json
    assert run["state"] == "failed" and run["counts"]["bad"] == 1
    assert run["bad_rows"][0] | {"id": 0} == {"id": 0, "where": "row 3", "row": 3,
                                              "column": "现存数量",
                                              "reason": "现存数量: '坏' is not a number",
                                              "raw": {"存货编码": "001002", "仓库": "WH-SH",
                                                      "现存数量": "坏"}}
    answer = upload(client, admin_headers, kind="stock", skip_bad="true")
    services.jobs.wait_imports()
    run = client.get(answer.json["url"], headers=admin_headers).json
    assert (run["state"], run["counts"]["accepted"], run["file_name"]) == ("done", 1, "库存.csv")
    stock = client.get("/api/v1/skus/001001/stock", headers=admin_headers).json
    assert stock["warehouses"][0]["levels"]["on_hand"] == 12
    runs = client.get("/api/v1/imports/runs", headers=admin_headers).json
    assert runs["total"] == 2 and [r["state"] for r in runs["items"]] == ["done", "failed"]


def test_preview_shows_the_recognised_columns_and_the_first_bad_rows(
        client: Any, admin_headers: dict[str, str]) -> None:
    answer = client.post("/api/v1/imports/csv/preview", headers=admin_headers,
                         data={"file": (io.BytesIO(STOCK), "s.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 200, answer.json
    found = answer.json
    assert (found["kind"], found["header_row"]) == ("stock", 1)
    assert found["columns"] == {"sku": "存货编码", "warehouse": "仓库", "on_hand": "现存数量"}
    assert found["records"][0]["sku"] == "001001" and found["records"][0]["record"] == "StockSnapshot"
    assert found["bad_rows"][0]["row"] == 3


def test_only_admins_may_import_and_bad_requests_say_why(
        client: Any, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    assert upload(client, user_headers, kind="stock").status_code == 403
    assert client.post("/api/v1/imports/nope", json={"source": "x"},
                       headers=admin_headers).status_code == 404
    missing = client.post("/api/v1/imports/csv", json={"source": "nope"}, headers=admin_headers)
    assert missing.status_code == 404 and missing.json["message"] == "import source 'nope' not found"
    wrong = upload(client, admin_headers, kind="stocks")
    assert wrong.status_code == 422 and "'stocks' is not a kind" in wrong.json["errors"][0]["message"]
    assert client.get("/api/v1/imports/runs/99", headers=admin_headers).status_code == 404


def test_the_openapi_document_describes_the_imports(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    post = doc["paths"]["/api/v1/imports/{plugin}"]["post"]
    assert set(post["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert "202" in post["responses"]
    run = doc["components"]["schemas"]["ImportRun"]["properties"]
    assert {"state", "progress_done", "counts", "bad_rows"} <= set(run)


def test_a_file_over_the_upload_limit_is_refused_and_nothing_is_imported(
        client: Any, admin_headers: dict[str, str], services: Any, app: Any) -> None:
    """A 200 MB export over a server configured for less: refused before it is stored."""
    import dataclasses

    seed(services)
    svc = app.extensions["engine"]
    limited = dataclasses.replace(svc.settings, max_upload_bytes=len(STOCK) - 1)
    object.__setattr__(svc, "settings", limited)
    answer = upload(client, admin_headers, kind="stock")
    assert answer.status_code == 413, answer.get_data(as_text=True)[:500]
    from sqlalchemy import func, select

    from engine.storage.tables import import_runs

    with services.uow() as uow:
        assert uow.conn.execute(select(func.count()).select_from(import_runs)).scalar() == 0

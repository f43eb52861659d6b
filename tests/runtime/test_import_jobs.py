"""Import runs are RQ jobs in production: POST answers 202 at once, a worker runs the run."""

from __future__ import annotations

import io

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from engine.jobs import IMPORT_QUEUE
from engine.services import catalog


def test_an_uploaded_file_is_imported_by_a_worker(rq_app, admin_headers_rq):  # type: ignore[no-untyped-def]
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    now = services.clock.now()
    with services.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [{"code": "WH-SH", "name": "上海仓"}], "t", now)
        catalog.put_rows(uow.conn, "skus", [{"code": "001001", "name": "螺栓"}], "t", now)
        uow.commit()
    data = {"file": (io.BytesIO("存货编码,仓库,现存数量\n001001,上海仓,8\n".encode("gbk")), "s.csv"),
            "kind": "stock"}
    answer = client.post("/api/v1/imports/csv", data=data, headers=admin_headers_rq,
                         content_type="multipart/form-data")
    assert answer.status_code == 202
    run = client.get(answer.json["url"], headers=admin_headers_rq).json
    assert run["state"] == "queued" and services.jobs.depths()[IMPORT_QUEUE] == 1
    from engine.worker import use_services

    use_services(services)
    SimpleWorker([services.jobs.queue(IMPORT_QUEUE)], connection=services.jobs.connection,
                 serializer=JSONSerializer).work(burst=True)
    run = client.get(answer.json["url"], headers=admin_headers_rq).json
    # the run recorded its count event; the events' own apply job waits in the outbox
    assert (run["state"], run["counts"]["accepted"]) == ("done", 1), run

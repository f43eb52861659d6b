"""The event pipeline: stock events in; levels, demand, alerts and their work out.

One walk, the same for every caller (``POST /api/v1/events``, ``events replay``, replayed
rejected events, the worker's apply job, the importers and the backtest):

    validate  (``validate.validate_items``: pure)      items → events + answers per item
    record    (``engine.storage.event_log``)          events → rows, duplicates found by id
    load      (``engine.storage.stock_state``)        the state the events touch
    apply     (``core.apply``: pure)                  state + events + snapshot → ``Changes``
    save      (``engine.storage.changes``)            ``Changes`` → rows, in the same transaction

The handler that runs it is ``engine.services.events.handle``; whether ``apply`` runs now or in
a worker is a scheduling choice made there, not a second path.
"""

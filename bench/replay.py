"""Benchmark: compiled rule evaluation, end-to-end ``events replay``, and a JsonLogic baseline.

One run, one seeded synthetic workload (see ``replay_workload.py``), three measurements:

(a) evaluation alone, in memory, as the brief defines it ("events/s through the compiled rules"):
    per event, the candidate rules (``GroupIndex`` + ``RuleIndex.candidates``) and the compiled
    conditions (``engine.evaluation.evaluate``) on facts built beforehand; events/s and rule
    evaluations/s. (a+) is the whole in-memory loop: the same plus the facts
    (``Snapshot.fact_maker(...).facts``, as ``ingest`` builds them). Each part is timed apart.
(b) ``flask --app wsgi events replay FILE.jsonl --batch N`` end to end on a fresh SQLite file
    (catalogue and ruleset loaded through the services first); its own printed events/s.
(c) the baseline: the same selection, then each candidate rule's raw ``when`` through
    panzi-json-logic (``jsonLogic(rule.when, facts)``) on the same facts, on a sample of the
    events; (c+) adds the facts, built the same way.

It prints a table (measurement, target, PASS/MISS) and exits 0 whatever the figures: the targets
are informational. ``--out-json`` writes the same as JSON. See bench/README.md.

    .venv/bin/python bench/replay.py                          # full size (100k SKUs, 1M events)
    .venv/bin/python bench/replay.py --skus 2000 --events 50000
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

import replay_workload as wl  # noqa: E402

TARGETS = {
    "a_events_per_s": 100_000,
    "ratio_a_c": 25.0,
    "b_events_per_s": 20_000,
    "memory_mb": 300,
}
MB = 1024 * 1024


# --- small helpers -----------------------------------------------------------------------------


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc; falls back to the peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return maxrss_mb()


def child_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_timeline(samples: list[tuple[float, float]]) -> dict[str, float]:
    """The child's RSS at 10 %, 25 %, 50 %, 75 % and 100 % of its run (sampled every 0.2 s)."""
    if not samples:
        return {}
    end = samples[-1][0]
    out = {}
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        at = next((r for s, r in samples if s >= share * end), samples[-1][1])
        out[f"{int(share * 100)}%"] = round(at)
    return out


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def say(msg: str) -> None:
    print(msg, flush=True)


def fmt_rate(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skus", type=int, default=100_000)
    p.add_argument("--warehouses", type=int, default=10)
    p.add_argument("--groups", type=int, default=50)
    p.add_argument("--rules", type=int, default=500)
    p.add_argument("--events", type=int, default=1_000_000, help="events for (a) and (c)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int, default=5000, help="events per transaction in (b)")
    p.add_argument("--skip-replay", action="store_true", help="skip (b), the SQLite end-to-end run")
    p.add_argument("--replay-events", type=int, default=200_000,
                   help="events for (b): the first N of the same stream (default 200k)")
    p.add_argument("--replay-mode", choices=["cli", "inprocess"], default="cli",
                   help="(b) through the flask CLI in a subprocess (default) or the same "
                        "service called in this process")
    p.add_argument("--baseline-events", type=int, default=20_000,
                   help="events sampled (evenly) for (c), the panzi baseline; 0 skips it")
    p.add_argument("--chunk", type=int, default=20_000, help="events generated per chunk")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also measure the engine state with tracemalloc, in a separate process "
                        "(tracemalloc's own bookkeeping would distort this process's RSS)")
    p.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--profile", metavar="DIR",
                   help="cProfile (a) and (b) into DIR (eval.prof, replay.prof) and print the top "
                        "functions; the profiled figures are slower than unprofiled ones")
    p.add_argument("--replay-timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="give up on one `events replay` run after this long (default 1800)")
    p.add_argument("--no-notify", action="store_true",
                   help="generate the rules without notify actions (no notification outbox rows)")
    p.add_argument("--keep-db", action="store_true", help="keep (b)'s temporary folder")
    p.add_argument("--dump-ruleset", metavar="FILE", help="write the generated rule document")
    p.add_argument("--out-json", metavar="FILE", help="write the results as JSON")
    args = p.parse_args(argv)
    args.replay_events = min(args.replay_events, args.events)
    return args


# --- the engine state of (a) and (c) -----------------------------------------------------------


def build_engine_state(cat: wl.Catalogue, text: str) -> tuple[Any, Any]:
    """What ``load_snapshot`` builds from the database, built from the catalogue instead.

    SKU facts are copied (as rows read from the database would be), supplier links become
    ``SupplierLink`` objects, the ruleset is loaded and compiled from its YAML text.
    """
    from engine.evaluation import RuleIndex
    from engine.membership import GroupIndex
    from engine.metrics import SupplierLink
    from engine.rules import RulesetInvalid, load_ruleset
    from engine.services.engine_cache import Snapshot, keep_out_of_gc
    from engine.services.rulesets import ActiveRuleset

    try:
        compiled = load_ruleset(text, "yaml")
    except RulesetInvalid as err:
        say(f"the generated ruleset is invalid ({len(err.problems)} problems):")
        for problem in err.problems[:50]:
            say(f"  {problem}")
        raise SystemExit(2) from None
    sups = {s["code"]: s for s in cat.suppliers}
    links: dict[int, tuple[Any, ...]] = {}
    for i, rows in enumerate(cat.links):
        links[i + 1] = tuple(
            SupplierLink(code=r["supplier"], lead_time_days=sups[r["supplier"]]["lead_time_days"],
                         lead_time_std_days=sups[r["supplier"]]["lead_time_std_days"],
                         price=r["price"], preferred=r["preferred"], backup=r["backup"],
                         moq=sups[r["supplier"]]["moq"], pack_size=sups[r["supplier"]]["pack_size"])
            for r in rows)
    sku_facts = {i + 1: json.loads(json.dumps(s)) for i, s in enumerate(cat.skus)}
    wh_facts = {h + 1: dict(w) for h, w in enumerate(cat.warehouses)}
    snap = Snapshot(
        key=(1, 1), ruleset=ActiveRuleset(1, 1, compiled),
        sku_ids={s["code"]: i for i, s in sku_facts.items()}, sku_facts=sku_facts,
        warehouse_ids={w["code"]: h for h, w in wh_facts.items()}, warehouse_facts=wh_facts,
        links=links, supplier_ids={s["code"]: n + 1 for n, s in enumerate(cat.suppliers)},
        supplier_contacts={s["code"]: {} for s in cat.suppliers})
    snap.rule_index = RuleIndex(compiled)
    snap.rule_index.build_all()
    snap.group_index = GroupIndex(compiled, snap.sku_facts.values(), snap.warehouse_facts.values())
    snap.index_profiles()
    snap.tz = ZoneInfo(compiled.settings.timezone)
    snap.needs_total = any("stock.total_available" in repr(r.when) for r in compiled.rules)
    promotion_days = compiled.settings.extra.get("promotion_days", [])
    snap.promotion_days = frozenset(str(d) for d in promotion_days)
    keep_out_of_gc(snap)  # as EngineCache does with a snapshot it loaded
    return snap, compiled


def panzi_evaluate(rules: Any, facts: Any, json_logic: Any, outcome: Any, truthy: Any) -> list[Any]:
    """``engine.evaluation.evaluate`` with panzi's interpreter in place of the compiled code."""
    out = []
    for rule in rules:
        try:
            out.append(outcome(rule, truthy(json_logic(rule.when, facts))))
        except Exception as exc:  # mirrors evaluate(): a failing rule is reported, not raised
            out.append(outcome(rule, False, f"{type(exc).__name__}: {exc}"))
    return out


# --- (a) and (c) -------------------------------------------------------------------------------


def run_eval(args: argparse.Namespace, cat: wl.Catalogue, snap: Any, replay_dir: Path | None,
             profiler: cProfile.Profile | None) -> dict[str, Any]:
    """Stream the events through the in-memory engine loop; (c) on every k-th event."""
    from json_logic import jsonLogic

    from engine.evaluation import Outcome, evaluate, truthy
    from engine.metrics import DemandWindow
    from engine.stock import DEMAND_TYPES, StockEvent, StockLevel, apply

    stream = wl.EventStream(cat, args.events, args.seed)
    n_wh = len(cat.warehouses)
    sku_codes = [s["code"] for s in cat.skus]
    wh_codes = [w["code"] for w in cat.warehouses]
    tz = snap.tz
    sku_facts, wh_facts = snap.sku_facts, snap.warehouse_facts
    select, fact_maker = snap.select, snap.fact_maker
    state: dict[int, tuple[StockLevel, DemandWindow]] = {}
    every = max(1, args.events // args.baseline_events) if args.baseline_events > 0 else 0
    pc = time.perf_counter

    t_select = t_facts = t_eval = 0.0  # (a)
    n_events = n_evals = n_hits = n_errors = n_with_rules = 0
    c_events = c_evals = c_errors = mismatches = 0  # (c)
    c_total = c_select = c_eval = a_eval_same = raw_compiled = raw_panzi = 0.0
    used: dict[int, list[Any]] = {}  # id(candidate tuple) -> [tuple, times used]
    hits_by_rule: Counter[str] = Counter()
    type_counts: Counter[str] = Counter()
    gen_seconds = loop_wall = loop_cpu = 0.0

    replay_fh = None
    if replay_dir is not None:
        replay_fh = (replay_dir / "events.jsonl").open("w", encoding="utf-8")
    it = stream.events()
    k_next = 0
    wall0 = pc()
    while k_next < args.events:
        g0 = pc()
        size = args.chunk
        if replay_fh is not None and k_next < args.replay_events:
            size = min(size, args.replay_events - k_next)
        chunk = []
        for _ in range(size):
            ev = next(it, None)
            if ev is None:
                break
            chunk.append(ev)
        if not chunk:
            break
        events = [StockEvent(f"BENCH{args.seed}-{ev[0]:08d}", ev[1], sku_codes[ev[2]],
                             wh_codes[ev[3]], datetime.fromtimestamp(ev[5], wl.TZ), ev[4], ev[6],
                             on_order=ev[7]) for ev in chunk]
        if replay_fh is not None and k_next < args.replay_events:
            replay_fh.writelines(json.dumps(wl.event_json(ev, cat, args.seed)) + "\n"
                                 for ev in chunk)
            if k_next + len(chunk) >= args.replay_events:
                replay_fh.close()
                replay_fh = None
                assert replay_dir is not None
                with (replay_dir / "opening.jsonl").open("w", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(e) + "\n" for e in stream.opening_events(args.seed))
        k_next += len(chunk)
        gen_seconds += pc() - g0

        if profiler is not None:
            profiler.enable()
        loop_wall0, loop_cpu0 = pc(), time.process_time()
        for ev, event in zip(chunk, events):
            k, etype, si, wi, qty = ev[:5]
            key = si * n_wh + wi
            st = state.get(key)
            if st is None:
                st = state[key] = (StockLevel(on_hand=stream.opening(key)), DemandWindow())
            level, window = st
            # the stock change itself is not timed; selection, facts and evaluation are, apart
            apply(level, event)
            if etype in DEMAND_TYPES:
                window.add(event.at.astimezone(tz).date(), qty)
            t0 = pc()
            sku_id, wh_id = si + 1, wi + 1
            groups, rules = select(sku_id, wh_id, etype)
            t1 = pc()
            t_select += t1 - t0
            n_events += 1
            type_counts[etype] += 1
            if not rules:
                continue
            sku, wh = sku_facts[sku_id], wh_facts[wh_id]
            facts = fact_maker(sku_id, groups).facts(event, sku, wh, level, window)
            t2 = pc()
            outcomes = evaluate(rules, facts)
            t3 = pc()
            t_facts += t2 - t1
            t_eval += t3 - t2
            n_with_rules += 1
            n_evals += len(rules)
            slot = used.get(id(rules))
            if slot is None:
                used[id(rules)] = [rules, 1]
            else:
                slot[1] += 1
            for o in outcomes:
                if o.hit:
                    n_hits += 1
                    hits_by_rule[o.rule.id] += 1
                elif o.error:
                    n_errors += 1

            if every and k % every == 0:  # (c): the same loop with panzi, then the isolation
                c0 = pc()
                groups2, rules2 = select(sku_id, wh_id, etype)
                cs = pc()
                facts2 = fact_maker(sku_id, groups2).facts(event, sku, wh, level, window)
                c1 = pc()
                base = panzi_evaluate(rules2, facts2, jsonLogic, Outcome, truthy)
                c2 = pc()
                c_total += c2 - c0
                c_select += cs - c0
                c_eval += c2 - c1
                c_events += 1
                c_evals += len(rules2)
                c_errors += sum(1 for o in base if o.error)
                c3 = pc()
                evaluate(rules2, facts2)
                c4 = pc()
                a_eval_same += c4 - c3
                compiled_raw = [r.condition(facts2) for r in rules2]
                c5 = pc()
                panzi_raw = [jsonLogic(r.when, facts2) for r in rules2]
                c6 = pc()
                raw_compiled += c5 - c4
                raw_panzi += c6 - c5
                mismatches += sum(1 for x, y in zip(compiled_raw, panzi_raw)
                                  if truthy(x) != truthy(y))
        loop_wall += pc() - loop_wall0
        loop_cpu += time.process_time() - loop_cpu0
        if profiler is not None:
            profiler.disable()
        if k_next % 200_000 < len(chunk) or k_next >= args.events:
            timed = t_select + t_eval
            say(f"  … {k_next:>9,} events  (a) {n_events / timed if timed else 0:,.0f} ev/s  "
                f"pairs {len(state):,}  rss {rss_mb():,.0f} MB")
    wall = pc() - wall0
    if replay_fh is not None:
        replay_fh.close()

    timed = t_select + t_facts + t_eval
    share = min(loop_cpu / loop_wall, 1.0) if loop_wall and loop_cpu else None
    evals_by_rule: Counter[str] = Counter()
    for rules, times in used.values():
        for r in rules:
            evals_by_rule[r.id] += times
    by_kind: dict[str, list[int]] = {}
    for rid, n in evals_by_rule.items():
        kind = rid.split("-", 1)[1]
        by_kind.setdefault(kind, [0, 0])[0] += n
        by_kind[kind][1] += hits_by_rule.get(rid, 0)
    pair_groups = getattr(snap.group_index, "_by_pair", {})
    return {
        "events": n_events,
        "events_with_rules": n_with_rules,
        "rule_evaluations": n_evals,
        "candidates_per_event": n_evals / n_events if n_events else 0.0,
        "hits": n_hits,
        "hit_rate": n_hits / n_evals if n_evals else 0.0,
        "runtime_errors": n_errors,
        "seconds": timed,
        "seconds_selection": t_select,
        "seconds_facts": t_facts,
        "seconds_evaluation": t_eval,
        # (a) as the brief defines it: the events through the compiled rules of their groups
        # (selection + evaluation), the facts given; and the whole loop, facts built
        "events_per_s": n_events / (t_select + t_eval) if t_select + t_eval else 0.0,
        "events_per_s_with_facts": n_events / timed if timed else 0.0,
        "rule_evaluations_per_s": n_evals / (t_select + t_eval) if t_select + t_eval else 0.0,
        "wall_seconds": wall,
        "loop_cpu_share": share,
        "events_per_s_cpu_adjusted": (n_events / ((t_select + t_eval) * share)
                                      if t_select + t_eval and share else None),
        "events_per_s_with_facts_cpu_adjusted": (n_events / (timed * share)
                                                 if timed and share else None),
        "generation_seconds": gen_seconds,
        "touched_pairs": len(state),
        "group_index_pair_cache": len(pair_groups),
        "candidate_lists_cached": len(getattr(snap.rule_index, "_cache", {})),
        "event_mix": dict(type_counts.most_common()),
        "hits_by_template": {k: {"evaluations": v[0], "hits": v[1],
                                 "hit_rate": round(v[1] / v[0], 4) if v[0] else 0.0}
                             for k, v in sorted(by_kind.items())},
        "rss_after_mb": rss_mb(),
        "baseline": {
            "sampled_every": every,
            "events": c_events,
            "rule_evaluations": c_evals,
            "runtime_errors": c_errors,
            "seconds": c_select + c_eval,
            "seconds_with_facts": c_total,
            "seconds_selection": c_select,
            "seconds_evaluation": c_eval,
            "events_per_s": c_events / (c_select + c_eval) if c_select + c_eval else None,
            "events_per_s_with_facts": c_events / c_total if c_total else None,
            "rule_evaluations_per_s": c_evals / c_eval if c_eval else None,
            "compiled_evaluations_per_s_same_facts": c_evals / a_eval_same if a_eval_same else None,
            "raw_compiled_calls_per_s": c_evals / raw_compiled if raw_compiled else None,
            "raw_panzi_calls_per_s": c_evals / raw_panzi if raw_panzi else None,
            "outcome_mismatches": mismatches,
        },
    }


# --- (b) ---------------------------------------------------------------------------------------

class ReplayFailed(RuntimeError):
    """The end-to-end run failed or hung: reported in the table, (a) and (c) are kept."""


REPLAY_LINE = re.compile(r"(\d+) events: (\d+) accepted, (\d+) duplicate, (\d+) rejected in "
                         r"([\d.]+) s \(([\d,]+) events/s\)")


def prepare_database(url: str, cat: wl.Catalogue, text: str) -> dict[str, float]:
    """A fresh schema, the catalogue (put_rows, 10k rows per call) and the ruleset (put)."""
    from engine.services import rulesets
    from engine.services.catalog import put_rows
    from engine.storage.database import make_engine, upgrade
    from engine.storage.unit_of_work import UnitOfWork

    times = {}
    t = time.perf_counter()
    upgrade(url)
    times["upgrade_s"] = time.perf_counter() - t
    db = make_engine(url)
    now = datetime.now(UTC)
    t = time.perf_counter()
    with UnitOfWork(db) as uow:
        put_rows(uow.conn, "suppliers", cat.suppliers, "bench", now)
        put_rows(uow.conn, "warehouses", cat.warehouses, "bench", now)
        for start in range(0, cat.n_skus, 10_000):
            put_rows(uow.conn, "skus", cat.sku_rows(start, min(start + 10_000, cat.n_skus)),
                     "bench", now)
        uow.commit()
    times["catalogue_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with UnitOfWork(db) as uow:
        rulesets.put(uow.conn, text, "yaml", "bench", now, comment="bench/replay.py")
        uow.commit()
    times["ruleset_s"] = time.perf_counter() - t
    db.dispose()
    return times


def time_snapshot_load(url: str) -> float:
    """How long the first batch of a fresh process spends loading catalogue, ruleset, indexes."""
    from engine.services.engine_cache import EngineCache
    from engine.services.rulesets import RulesetCache
    from engine.storage.database import make_engine

    db = make_engine(url)
    try:
        with db.connect() as conn:
            t = time.perf_counter()
            EngineCache(RulesetCache()).current(conn)
            return time.perf_counter() - t
    finally:
        db.dispose()


def db_counts(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from engine.storage import tables as t
    from engine.storage.database import make_engine

    db = make_engine(url)
    out: dict[str, Any] = {}
    with db.connect() as conn:
        for name in ("stock_events", "rejected_events", "alerts", "tasks", "requisitions",
                     "notifications", "escalations", "stock_levels"):
            table = getattr(t, name)
            out[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        out["alerts_by_state"] = dict(conn.execute(
            select(t.alerts.c.state, func.count()).group_by(t.alerts.c.state)).all())
    db.dispose()
    return out


def replay_file(args: argparse.Namespace, tmp: Path, url: str, path: Path,
                profile_to: Path | None = None) -> dict[str, Any]:
    """Replay one JSONL file the way a user does; parse the CLI's own summary line."""
    if args.replay_mode == "inprocess":
        return replay_inprocess(args, tmp, url, path)
    env = dict(os.environ, DATABASE_URL=url, STOCKWARN_INSTANCE=str(tmp))
    flask = Path(sys.executable).with_name("flask")
    cmd = [str(flask), "--app", "wsgi", "events", "replay", str(path), "--batch", str(args.batch)]
    if profile_to is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile_to), *cmd]
    say(f"  $ {' '.join(cmd)}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_path, err_path = tmp / f"{path.stem}.stdout", tmp / f"{path.stem}.stderr"
    samples: list[tuple[float, float]] = []  # (seconds since start, RSS MB) of the child
    t = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        while proc.poll() is None:
            rss = child_rss_mb(proc.pid)
            if rss is not None:
                samples.append((time.perf_counter() - t, rss))
            if time.perf_counter() - t > args.replay_timeout:
                proc.kill()
                proc.wait()
                raise ReplayFailed(f"`events replay {path.name}` did not finish within "
                                   f"{args.replay_timeout:.0f} s (killed); its stderr ends with:\n"
                                   f"{err_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise ReplayFailed(f"`events replay {path.name}` exited with {proc.returncode}:\n"
                           f"{stdout[-2000:]}\n{stderr[-4000:]}")
    match = REPLAY_LINE.search(stdout)
    if match is None:
        raise ReplayFailed(f"could not parse the replay output: {stdout!r}")
    n, acc, dup, rej, seconds, rate = match.groups()
    say(f"    {match.group(0)}")
    timeline = rss_timeline(samples)
    if timeline:
        say(f"    its RSS over the run: {timeline} MB")
    return {"command": cmd, "printed": match.group(0), "events": int(n), "accepted": int(acc),
            "duplicate": int(dup), "rejected": int(rej), "seconds": float(seconds),
            "events_per_s": float(rate.replace(",", "")), "process_wall_s": wall,
            "process_cpu_s": cpu, "process_cpu_share": cpu / wall if wall else None,
            "events_per_s_cpu_adjusted": (int(n) / (float(seconds) * min(cpu / wall, 1.0))
                                          if wall and cpu and float(seconds) else None),
            "children_maxrss_mb_all": maxrss_mb(resource.RUSAGE_CHILDREN),  # max of every child
            "rss_peak_sampled_mb": max((r for _, r in samples), default=None),
            "rss_timeline_mb": rss_timeline(samples)}


def replay_inprocess(args: argparse.Namespace, tmp: Path, url: str, path: Path) -> dict[str, Any]:
    """The CLI's loop, called directly (``--replay-mode inprocess``)."""
    from engine.bootstrap import bootstrap
    from engine.config import Settings
    from engine.services import events as event_service
    from engine.strict_json import loads

    svc = bootstrap(Settings(database_url=url, instance_path=tmp))
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    chunk: list[Any] = []

    def flush() -> None:
        with svc.uow() as uow:
            results, _ = event_service.handle(uow, svc.cache, chunk, svc.clock.now(),
                                              source=f"file:{path.name}")
        for r in results:
            totals[r.status] += 1
        chunk.clear()

    start = time.perf_counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                chunk.append(loads(line))
                if len(chunk) >= args.batch:
                    flush()
    if chunk:
        flush()
    seconds = time.perf_counter() - start
    svc.close()
    n = sum(totals.values())
    printed = (f"{n} events: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
               f"{totals['rejected']} rejected in {seconds:.2f} s ({n / seconds:,.0f} events/s)")
    say(f"    {printed} [in process]")
    return {"command": "in-process events.handle loop", "printed": printed, "events": n, **totals,
            "seconds": seconds, "events_per_s": n / seconds if seconds else 0.0,
            "rss_peak_sampled_mb": None, "events_per_s_cpu_adjusted": None}


_SIGN = {"receipt": 1.0, "return": 1.0, "sale": -1.0, "issue": -1.0, "adjustment": 1.0,
         "transfer": -1.0}


def record_only_floor(db_file: Path, path: Path, batch: int = 5000) -> dict[str, Any]:
    """The reference (b) is held to: the part no replay can skip, with stdlib ``sqlite3`` on a
    copy of (b)'s database (same catalogue, same opening stock): each line parsed, its codes
    checked, the event row inserted under its unique id, the pair's stock level and the day's
    demand upserted, ``batch`` events per transaction; no rules, no alerts."""
    import sqlite3

    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    skus = dict(conn.execute("SELECT code, id FROM skus"))
    whs = dict(conn.execute("SELECT code, id FROM warehouses"))
    received = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    n = 0
    start, cpu = time.perf_counter(), time.process_time()

    def flush(rows: list[dict[str, Any]], lines: list[str]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO stock_events (event_id, type, sku_id, warehouse_id, qty, at, ref, payload, "
            "received_at, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (event_id) DO NOTHING",
            [(e["id"], e["type"], skus[e["sku"]], whs[e["warehouse"]], e.get("qty"), e["at"],
              e.get("ref"), line, received) for e, line in zip(rows, lines)])
        conn.executemany(
            "INSERT INTO stock_levels (sku_id, warehouse_id, on_hand, last_event_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = "
            "CASE WHEN ? THEN excluded.on_hand ELSE stock_levels.on_hand + excluded.on_hand END, "
            "last_event_at = excluded.last_event_at",
            [(skus[e["sku"]], whs[e["warehouse"]], (e.get("qty") or 0.0) * _SIGN.get(e["type"], 1.0),
              e["at"], e["type"] == "count") for e in rows])
        conn.executemany(
            "INSERT INTO demand_days (sku_id, warehouse_id, day, qty) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (sku_id, warehouse_id, day) DO UPDATE SET qty = demand_days.qty + excluded.qty",
            [(skus[e["sku"]], whs[e["warehouse"]], e["at"][:10], e.get("qty") or 0.0)
             for e in rows if e["type"] in ("sale", "issue")])
        conn.execute("COMMIT")

    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            event = json.loads(line)
            if event.get("sku") not in skus or event.get("warehouse") not in whs:
                continue
            rows.append(event)
            lines.append(line)
            if len(rows) >= batch:
                flush(rows, lines)
                n += len(rows)
                rows, lines = [], []
    if rows:
        flush(rows, lines)
        n += len(rows)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    # sqlite3 runs in this process: its CPU time is the floor's cost whatever else runs
    return {"events": n, "seconds": seconds, "events_per_s": n / seconds if seconds else None,
            "events_per_cpu_s": n / cpu if cpu else None}


def run_replay(args: argparse.Namespace, cat: wl.Catalogue, text: str, tmp: Path) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'bench.db'}"
    say(f"(b) database {url}")
    setup = prepare_database(url, cat, text)
    say(f"    schema {setup['upgrade_s']:.1f} s, catalogue {setup['catalogue_s']:.1f} s, "
        f"ruleset {setup['ruleset_s']:.1f} s")
    say("(b) opening stock (count events, not part of the measurement)")
    opening = replay_file(args, tmp, url, tmp / "opening.jsonl")
    before = db_counts(url)
    shutil.copyfile(tmp / "bench.db", tmp / "floor.db")
    say("(b) record-only floor (stdlib sqlite3, same events, a copy of the database)")
    floor = record_only_floor(tmp / "floor.db", tmp / "events.jsonl", args.batch)
    say(f"    {floor['events_per_s']:,.0f} events/s")
    (tmp / "floor.db").unlink()
    snapshot_s = time_snapshot_load(url)
    say(f"    (a fresh process first loads the engine snapshot: {snapshot_s:.1f} s here, "
        "included in the CLI's own timing)")
    say(f"(b) events replay: {args.replay_events:,} events, --batch {args.batch}")
    prof = Path(args.profile) / "replay.prof" if args.profile else None
    try:
        main = replay_file(args, tmp, url, tmp / "events.jsonl", prof)
    except ReplayFailed as exc:
        got = db_counts(url)
        raise ReplayFailed(f"{exc}\nprogress when it stopped: "
                           f"{got['stock_events'] - before['stock_events']:,} of "
                           f"{args.replay_events:,} events stored, "
                           f"{got['alerts'] - before['alerts']:,} alerts") from None
    after = db_counts(url)
    created = {k: after[k] - before[k] for k in ("alerts", "tasks", "requisitions", "notifications",
                                                  "escalations", "stock_events", "rejected_events")}
    steady = main["seconds"] - snapshot_s
    main["snapshot_load_s"] = snapshot_s
    main["events_per_s_excluding_snapshot"] = main["events"] / steady if steady > 0 else None
    return {"setup": setup, "opening": opening, "replay": main, "floor": floor,
            "created_by_replay": created,
            "database_after": after, "database_file_mb": (tmp / "bench.db").stat().st_size / MB}


# --- report ------------------------------------------------------------------------------------


def verdict(value: float | None, target: float, higher_is_better: bool = True) -> str:
    if value is None:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "PASS" if ok else "MISS"


def table(results: dict[str, Any]) -> list[dict[str, Any]]:
    a = results.get("a") or {}
    c, b = a.get("baseline") or {}, results.get("b")
    mem = results["memory"]
    rows: list[dict[str, Any]] = []

    def row(name: str, value: Any, unit: str, target: str = "", status: str = "info") -> None:
        rows.append({"measurement": name, "value": value, "unit": unit, "target": target,
                     "status": status})

    row("(a) evaluation alone: selection + compiled rules", a.get("events_per_s"), "events/s",
        f">= {TARGETS['a_events_per_s']:,}",
        verdict(a.get("events_per_s"), TARGETS["a_events_per_s"]))
    row("(a) same, CPU-adjusted (see load)", a.get("events_per_s_cpu_adjusted"), "events/s",
        f">= {TARGETS['a_events_per_s']:,}",
        verdict(a.get("events_per_s_cpu_adjusted"), TARGETS["a_events_per_s"]))
    row("(a+) the whole loop: facts built too", a.get("events_per_s_with_facts"), "events/s",
        f">= {TARGETS['a_events_per_s']:,}",
        verdict(a.get("events_per_s_with_facts"), TARGETS["a_events_per_s"]))
    row("(a+) same, CPU-adjusted", a.get("events_per_s_with_facts_cpu_adjusted"), "events/s",
        f">= {TARGETS['a_events_per_s']:,}",
        verdict(a.get("events_per_s_with_facts_cpu_adjusted"), TARGETS["a_events_per_s"]))
    row("(a) rule evaluations", a.get("rule_evaluations_per_s"), "evals/s")
    row("(a) candidate rules per event", a.get("candidates_per_event"), "rules")
    row("(a) hit rate of evaluations", 100 * a.get("hit_rate", 0.0), "%")
    row("(c) panzi baseline: selection + interpreted rules", c.get("events_per_s"), "events/s")
    ratio = (a["events_per_s"] / c["events_per_s"]) if a and c.get("events_per_s") else None
    row("(a)/(c) events/s ratio", ratio, "x", f">= {TARGETS['ratio_a_c']:g}x",
        verdict(ratio, TARGETS["ratio_a_c"]))
    whole = (a["events_per_s_with_facts"] / c["events_per_s_with_facts"]
             if a and c.get("events_per_s_with_facts") else None)
    row("(a+)/(c+) ratio, facts built in both", whole, "x", f">= {TARGETS['ratio_a_c']:g}x",
        verdict(whole, TARGETS["ratio_a_c"]))
    same = c.get("compiled_evaluations_per_s_same_facts")
    iso = same / c["rule_evaluations_per_s"] if same and c.get("rule_evaluations_per_s") else None
    row("rule evaluation alone: evaluate() vs panzi, same facts", iso, "x")
    raw = (c["raw_compiled_calls_per_s"] / c["raw_panzi_calls_per_s"]
           if c.get("raw_panzi_calls_per_s") and c.get("raw_compiled_calls_per_s") else None)
    row("condition call alone: compiled vs jsonLogic()", raw, "x")
    row("compiled vs panzi outcome mismatches", c.get("outcome_mismatches"), "")
    if results.get("b_error"):
        row("(b) events replay end to end (SQLite)", None, "events/s",
            f">= {TARGETS['b_events_per_s']:,}", "FAILED")
    if b:
        rb = b["replay"]["events_per_s"]
        row("(b) events replay end to end (SQLite)", rb, "events/s",
            f">= {TARGETS['b_events_per_s']:,}", verdict(rb, TARGETS["b_events_per_s"]))
        row("(b) same, without the snapshot load",
            b["replay"].get("events_per_s_excluding_snapshot"), "events/s")
        adj = b["replay"].get("events_per_s_cpu_adjusted")
        row("(b) same, CPU-adjusted (see load)", adj, "events/s",
            f">= {TARGETS['b_events_per_s']:,}", verdict(adj, TARGETS["b_events_per_s"]))
        row("(a+)/(b) ratio", a["events_per_s_with_facts"] / rb if a and rb else None, "x")
        floor = (b.get("floor") or {}).get("events_per_s")
        row("(b) record-only floor (stdlib sqlite3, no rules)", floor, "events/s")
        if floor and a and rb:
            budget = 1 / floor + 1 / a["events_per_s_with_facts"]
            row("(b) per event / (floor + (a+)) per event", (1 / rb) / budget, "x", "<= 2x",
                verdict((1 / rb) / budget, 2.0, False))
        floor_cpu = (b.get("floor") or {}).get("events_per_cpu_s")
        a_cpu, b_cpu = a.get("events_per_s_with_facts_cpu_adjusted"), adj
        row("(b) record-only floor, per CPU second", floor_cpu, "events/s")
        if floor_cpu and a_cpu and b_cpu:  # the same ratio on CPU time: a loaded machine's shares differ
            budget = 1 / floor_cpu + 1 / a_cpu
            row("(b) per event / (floor + (a+)) per event, CPU time", (1 / b_cpu) / budget, "x",
                "<= 2x", verdict((1 / b_cpu) / budget, 2.0, False))
        peak = b["replay"].get("rss_peak_sampled_mb")
        row("(b) replay process peak RSS (sampled)", peak, "MB", f"<= {TARGETS['memory_mb']}",
            verdict(peak, TARGETS["memory_mb"], False))
    row("engine state: RSS increment (snapshot + ruleset + indexes)",
        mem.get("engine_state_rss_delta_mb"), "MB")
    if mem.get("engine_state_traced_mb") is not None:
        row("engine state: tracemalloc (separate process)", mem.get("engine_state_traced_mb"), "MB")
    row("engine process estimate: RSS after imports + state", mem.get("engine_process_estimate_mb"),
        "MB", f"<= {TARGETS['memory_mb']}",
        verdict(mem.get("engine_process_estimate_mb"), TARGETS["memory_mb"], False))
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    def show(v: Any, unit: str) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            if unit == "x":
                return f"{v:,.1f}x"
            return f"{v:,.1f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
        return f"{v:,} {unit}".strip()

    width = max(len(r["measurement"]) for r in rows)
    say("")
    say(f"{'measurement':<{width}}  {'value':>20}  {'target':>12}  status")
    say("-" * (width + 44))
    for r in rows:
        say(f"{r['measurement']:<{width}}  {show(r['value'], r['unit']):>20}  {r['target']:>12}  "
            f"{r['status']}")


def print_profile(path: Path, title: str, limit: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    text = out.getvalue()
    say(f"\n--- profile: {title} ({path}) — top {limit} by own time ---")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    say("\n".join(lines[max(start - 3, 0):]))
    return text


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "config": {k: v for k, v in vars(args).items()},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg(),
    }
    say(f"bench/replay.py: {args.skus:,} SKUs × {args.warehouses} warehouses, "
        f"{args.groups} groups, {args.rules} rules; {args.events:,} events for (a), "
        f"{'no' if args.skip_replay else f'{args.replay_events:,}'} for (b), "
        f"~{args.baseline_events:,} sampled for (c); seed {args.seed}")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)

    import json_logic  # noqa: F401

    import engine.evaluation
    import engine.facts
    import engine.services.engine_cache  # noqa: F401
    from engine.collector import pace_collector
    from engine.rules import load_ruleset  # noqa: F401

    # (a) and (c) run at the collector pace of the engine's processes, which bootstrap sets
    # for the web, the worker and (b)'s `events replay`
    pace_collector()
    gc.collect()
    rss_imports = rss_mb()
    rng = random.Random(args.seed)
    t = time.perf_counter()
    cat = wl.make_catalogue(rng, args.skus, args.warehouses)
    doc = wl.make_ruleset(rng, args.groups, args.rules, args.warehouses, notify=not args.no_notify)
    text = wl.ruleset_text(doc)
    say(f"workload: catalogue and rule document generated in {time.perf_counter() - t:.1f} s "
        f"({len(text) / 1024:,.0f} KiB of YAML)")
    if args.dump_ruleset:
        Path(args.dump_ruleset).write_text(text, encoding="utf-8")

    if args.memory_probe:  # the child of --tracemalloc: trace the build, print JSON, stop
        tracemalloc.start()
        state = build_engine_state(cat, text)
        current, peak = tracemalloc.get_traced_memory()
        del state
        print(json.dumps({"current_mb": current / MB, "peak_mb": peak / MB}))
        return 0

    # engine state: what a replay process holds for this catalogue and ruleset
    gc.collect()
    rss_before = rss_mb()
    t = time.perf_counter()
    snap, compiled = build_engine_state(cat, text)
    build_s = time.perf_counter() - t
    gc.collect()
    rss_state = rss_mb()
    results["memory"] = {
        "rss_after_imports_mb": rss_imports,
        "rss_with_catalogue_mb": rss_before,
        "rss_with_state_mb": rss_state,
        "engine_state_rss_delta_mb": rss_state - rss_before,
        "engine_process_estimate_mb": rss_imports + (rss_state - rss_before),
        "build_seconds": build_s,
        "note": "this process also holds the generator's own copy of the catalogue "
                "(rss_with_catalogue_mb); the engine state is what load_snapshot would hold: "
                "SKU/warehouse facts, supplier links, compiled ruleset, GroupIndex, RuleIndex",
    }
    say(f"engine state built in {build_s:.1f} s: RSS {rss_imports:,.0f} MB after imports → "
        f"{rss_before:,.0f} MB with the generator's catalogue → {rss_state:,.0f} MB with the "
        f"engine state (+{rss_state - rss_before:,.0f} MB)")
    if args.tracemalloc:
        probe = subprocess.run(
            [sys.executable, __file__, "--memory-probe", "--skus", str(args.skus),
             "--warehouses", str(args.warehouses), "--groups", str(args.groups),
             "--rules", str(args.rules), "--seed", str(args.seed)],
            capture_output=True, text=True)
        try:
            traced = json.loads(probe.stdout.strip().splitlines()[-1])
            results["memory"]["engine_state_traced_mb"] = traced["current_mb"]
            results["memory"]["engine_state_traced_peak_mb"] = traced["peak_mb"]
            say(f"engine state under tracemalloc (separate process): "
                f"{traced['current_mb']:,.0f} MB (peak {traced['peak_mb']:,.0f} MB while building)")
        except (IndexError, ValueError, KeyError):
            say(f"the tracemalloc probe failed: {probe.stderr[-2000:]}")
    results["workload"] = {
        "rules": len(compiled.rules), "groups": len(compiled.groups),
        "rules_with_actions": sum(1 for r in compiled.rules if r.actions),
        "rules_without_group": sum(1 for r in compiled.rules if not r.groups),
        "ruleset_yaml_kib": len(text) / 1024,
    }

    tmp = None if args.skip_replay else Path(tempfile.mkdtemp(prefix="stockwarn-bench-"))
    profiler = cProfile.Profile() if args.profile else None
    say(f"(a)+(c): streaming {args.events:,} events"
        + (f" (writing the first {args.replay_events:,} to {tmp}/events.jsonl)" if tmp else ""))
    a = run_eval(args, cat, snap, tmp, profiler)
    results["a"] = a
    results["memory"]["rss_after_a_mb"] = a["rss_after_mb"]
    say(f"(a) {a['events']:,} events, {a['rule_evaluations']:,} rule evaluations in "
        f"{a['seconds']:.2f} s timed (selection {a['seconds_selection']:.2f}, "
        f"facts {a['seconds_facts']:.2f}, evaluation {a['seconds_evaluation']:.2f}); "
        f"generation {a['generation_seconds']:.1f} s, "
        f"wall {a['wall_seconds']:.1f} s; {a['touched_pairs']:,} pairs touched")
    bl = a["baseline"]
    if bl["events"]:
        say(f"(c) {bl['events']:,} sampled events, {bl['rule_evaluations']:,} panzi evaluations in "
            f"{bl['seconds']:.2f} s ({bl['seconds_evaluation']:.2f} s evaluating); "
            f"{bl['outcome_mismatches']} outcome mismatches, {bl['runtime_errors']} runtime errors")
    if profiler is not None:
        path = Path(args.profile) / "eval.prof"
        profiler.dump_stats(str(path))
        print_profile(path, "(a)+(c) loop")
    del snap
    gc.collect()

    if tmp is not None:
        try:
            results["b"] = run_replay(args, cat, text, tmp)
            if args.profile:
                print_profile(Path(args.profile) / "replay.prof", "(b) events replay")
        except ReplayFailed as exc:
            results["b_error"] = str(exc)
            say(f"(b) FAILED: {exc}")
        finally:
            if args.keep_db:
                say(f"(b) kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)

    results["load_average_end"] = os.getloadavg()
    rows = table(results)
    results["table"] = rows
    print_table(rows)
    if results.get("b"):
        created = results["b"]["created_by_replay"]
        say(f"\n(b) created by the replay: {created['alerts']:,} alerts, "
            f"{created['tasks']:,} tasks, {created['requisitions']:,} requisitions, "
            f"{created['notifications']:,} notifications; "
            f"open/resolved alerts after: {results['b']['database_after']['alerts_by_state']}")
        op = results["b"]["opening"]
        say(f"(b) opening stock load: {op['printed']}")
    say(f"(a) event mix: {a['event_mix']}")
    say(f"load average (1, 5, 15 min): start {results['load_average_start']}, end "
        f"{tuple(round(x, 2) for x in results['load_average_end'])} on {os.cpu_count()} CPUs; "
        f"(a) got {a['loop_cpu_share']:.0%} of a CPU while timed"
        + (f", (b) {results['b']['replay']['process_cpu_share']:.0%}"
           if results.get("b") and results["b"]["replay"].get("process_cpu_share") else ""))
    if args.profile:
        say("note: --profile was on; the figures above include cProfile's overhead")
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        say(f"results written to {args.out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

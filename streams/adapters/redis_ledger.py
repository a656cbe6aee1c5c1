"""The assignment ledger in Redis: one Lua call per lead decides it atomically for every worker.

Semantics are exactly :class:`~processors.routing.memory_ledger.InMemoryLedger`
(the script follows it step by step; one conformance suite runs both).

Layout (``A`` is ``<prefix>:{assign}:``)::

    A s               hash    owner id → "<hour>|<n>|<day>|<n>|<placed>|<expected>|<week>|<n>|<placed>|
                              <expected>|<reported open load>|<assigned since>": every counter of
                              the owner, each day/week value valid only for the bucket before it
    A p:<pool>        hash    owner id → "<last placement seq>|<SWRR current>|<credit>|<offset day>|
                              <load offset>": the member's standing in that pool
    A q               string  the placement sequence (orders "least recently placed")
    A k:<sticky key>  string  the sticky owner, TTL sticky_ttl_s
    A d:<lead id>     string  the decision (JSON of the result and the caller's meta), TTL

One field per owner and per member (rather than one per counter) because the
script's cost is mostly Lua strings: a lead in a pool of 7 reads two HMGETs of
7 fields and writes two HSETs. Each counter holds only
its current bucket ("2026-11-25|7"): a new hour, day or week simply starts
over, so nothing grows with time and no clean-up runs. Every stored number is
an integer (expected shares in nano-leads, SWRR weights in thousandths), so
nothing is formatted as a float (``%.17g`` cost more than the rest of the
script) and both ledgers add exactly the same numbers.

Every key carries the ``{assign}`` hash tag, so one script touches many keys
on Redis Cluster too. The trade-off: all assignment state of one prefix lives
in one slot, hence on one node and one Redis core (~38 us of server time per
lead in a pool of 7, so ~26k leads/s per prefix; see the throughput test in
tests/integration/test_redis_ledger.py). Deployments that outgrow it split by prefix
(one per business unit or region); decisions must share the slot because the
idempotency check and the counter moves are one atomic step.

A batch is one pipeline (one round trip), one EVALSHA per lead, so other
clients get a turn between leads. NOSCRIPT (a restarted or flushed Redis) is
answered by loading the script and re-sending just the leads that hit it. A
connection failure is retried briefly; a lead that the lost round trip had
already decided comes back as a replay (same owner, no counter moved twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.exceptions import NoScriptError

from processors.errors import DependencyUnavailable
from processors.routing.ledger import AssignRequest, AssignResult, Skip
from processors.routing.memory_ledger import EXPECTED_UNIT, Fairness
from streams.settings import Settings

ASSIGN = r"""
local S, Q = KEYS[1], ARGV[1] .. 'q'
local B = ARGV[1]
local ttl = tonumber(ARGV[2])
local req = cjson.decode(ARGV[3])
local lead, meta, skey, sttl, credit = req[1], req[2], req[3], req[4], req[5]
local attempts, utc_day = req[6], req[7]
local DK = B .. 'd:' .. lead
local stored = redis.call('GET', DK)
if stored then return {1, stored} end
local fmt, match, sub = string.format, string.match, string.sub
local OWNER = '^' .. string.rep('([^|]*)|', 9) .. '([^|]*)$'
local MEMBER = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$'

-- An owner's counters as seen from candidate c's buckets: a stale bucket reads as 0.
local function owner_view(v, c)
  local s = {h = 0, d = 0, pd = 0, w = 0, pw = 0, olr = -1, ols = 0}
  if v then
    local hb, hn, db, dn, pd, wb, wn, pw, olr, ols = match(v, OWNER)
    if hb == c[6] then s.h = tonumber(hn) end
    if db == c[7] then s.d, s.pd = tonumber(dn), tonumber(pd) end
    if wb == c[8] then s.w, s.pw = tonumber(wn), tonumber(pw) end
    s.olr, s.ols = tonumber(olr), tonumber(ols)
  end
  return s
end
local function owner_text(s, c)
  return fmt('%s|%d|%s|%d|%d|%s|%d|%d|%d|%d', c[6], s.h, c[7], s.d, s.pd, c[8], s.w, s.pw, s.olr, s.ols)
end
local function is_absence(reason)
  local head = sub(reason, 1, 13)
  return head ~= 'missing skill' and head ~= 'unknown owner'
end

local skips = {}
local placed, winner_id, sticky = -1, '', false

for i, att in ipairs(attempts) do
  local kind, name, strategy, balance_by, cands = att[1], att[2], att[3], att[4], att[5]
  if kind == 'queue' then placed = i - 1 break end
  local n = #cands
  local ids = {}
  for j = 1, n do ids[j] = cands[j][1] end
  local vals = {}
  if n > 0 then vals = redis.call('HMGET', S, unpack(ids)) end
  local views = {}
  local eligible = {}
  for j = 1, n do
    local c = cands[j]
    if c[3] ~= '' then
      skips[#skips + 1] = {i - 1, c[1], c[3]}
    else
      local s = owner_view(vals[j], c)
      views[j] = s
      if c[4] >= 0 and s.h >= c[4] then
        skips[#skips + 1] = {i - 1, c[1], fmt('hourly cap reached (%d/%d)', s.h, c[4])}
      elseif c[5] >= 0 and s.d >= c[5] then
        skips[#skips + 1] = {i - 1, c[1], fmt('daily cap reached (%d/%d)', s.d, c[5])}
      else
        eligible[#eligible + 1] = j
      end
    end
  end
  if #eligible > 0 then
    local w = eligible[1]
    local sw = {}
    if kind == 'pool' then
      local P = B .. 'p:' .. name
      local pv = redis.call('HMGET', P, unpack(ids))
      local members, changed = {}, {}
      local function member(j)  -- placed seq (nil = never), current weight, credit, offset day, offset
        if not members[j] then
          local m = {t = nil, c = 0, k = 0, fb = '', f = 0}
          if pv[j] then
            local t, cw, k, fb, f = match(pv[j], MEMBER)
            m.t, m.c, m.k, m.fb, m.f = tonumber(t), tonumber(cw), tonumber(k), fb, tonumber(f)
          end
          members[j] = m
        end
        return members[j]
      end
      local hashes = {}
      local function hash(j)
        if not hashes[j] then hashes[j] = redis.sha1hex(name .. '\n' .. cands[j][1]) end
        return hashes[j]
      end
      local function less_recent(a, b)  -- a was placed by this pool less recently than b
        local ta, tb = member(a).t, member(b).t
        if not ta and not tb then return hash(a) < hash(b) end
        if not ta then return true end
        if not tb then return false end
        return ta < tb
      end
      local function load(j)
        local c = cands[j]
        local s = views[j] or owner_view(vals[j], c)
        local l
        if balance_by == 'open_load' then
          if s.olr == c[9] then l = c[9] + s.ols else l = c[9] end
        else
          l = s.d
        end
        local m = member(j)
        if m.fb == c[7] then l = l + m.f end
        return l
      end
      local total, total_q, wq = 0, 0, {}
      for _, j in ipairs(eligible) do
        total = total + cands[j][2]
        wq[j] = math.max(1, math.floor(cands[j][2] * 1000 + 0.5))
        total_q = total_q + wq[j]
      end
      local chosen = nil
      if skey ~= '' then
        local so = redis.call('GET', B .. 'k:' .. skey)
        if so then
          for _, j in ipairs(eligible) do
            if cands[j][1] == so then chosen = j break end
          end
        end
      end
      sticky = chosen ~= nil
      local loads = {}
      if strategy == 'load_balanced' then
        for _, j in ipairs(eligible) do loads[j] = load(j) end
      elseif strategy == 'weighted' then
        for _, j in ipairs(eligible) do
          local m = member(j)
          m.c = m.c + wq[j]
          changed[j] = true
        end
      end
      if chosen == nil and credit > 0 and strategy ~= 'load_balanced' then
        for _, j in ipairs(eligible) do
          if member(j).k > 0 and (chosen == nil or less_recent(j, chosen)) then chosen = j end
        end
        if chosen ~= nil then
          member(chosen).k = member(chosen).k - 1
        end
      end
      if chosen == nil then
        chosen = eligible[1]
        for x = 2, #eligible do
          local j = eligible[x]
          if strategy == 'weighted' then
            local cj, cc = members[j].c, members[chosen].c
            if cj > cc or (cj == cc and less_recent(j, chosen)) then chosen = j end
          elseif strategy == 'load_balanced' then
            if loads[j] < loads[chosen] or (loads[j] == loads[chosen] and less_recent(j, chosen)) then
              chosen = j
            end
          elseif less_recent(j, chosen) then
            chosen = j
          end
        end
      end
      w = chosen
      if strategy == 'weighted' then member(w).c = member(w).c - total_q end
      member(w).t = redis.call('INCR', Q)
      changed[w] = true
      local seen = {}
      if strategy == 'load_balanced' then
        local least = nil
        for _, j in ipairs(eligible) do
          if least == nil or loads[j] < least then least = loads[j] end
        end
        local floor = least - credit
        for j = 1, n do
          local c = cands[j]
          if c[3] ~= '' and is_absence(c[3]) and not seen[c[1]] then
            seen[c[1]] = true
            local l = load(j)
            if l < floor then
              local m = member(j)
              local keep = 0
              if m.fb == c[7] then keep = m.f end
              m.fb, m.f = c[7], keep + floor - l
              changed[j] = true
            end
          end
        end
      elseif credit > 0 then
        for j = 1, n do
          local c = cands[j]
          if c[3] ~= '' and is_absence(c[3]) and not seen[c[1]] then
            seen[c[1]] = true
            local m = member(j)
            m.k = math.min(m.k + 1, credit)
            changed[j] = true
          end
        end
      end
      local pw = {}
      for j in pairs(changed) do
        local m = members[j]
        pw[#pw + 1] = cands[j][1]
        pw[#pw + 1] = fmt('%s|%d|%d|%s|%d', m.t and fmt('%d', m.t) or '', m.c, m.k, m.fb, m.f)
      end
      redis.call('HSET', P, unpack(pw))
      -- expected shares: one count per distinct eligible set (id, share, day, week per member)
      local parts = {}
      for _, j in ipairs(eligible) do
        local c = cands[j]
        parts[#parts + 1] = c[1] .. '\t' .. fmt('%d', math.floor(c[2] * 1000000000 / total + 0.5))
          .. '\t' .. c[7] .. '\t' .. c[8]
      end
      local EK = B .. 'e:' .. name .. ':' .. utc_day
      if redis.call('HINCRBY', EK, table.concat(parts, '\n'), 1) == 1 then
        redis.call('EXPIRE', EK, 777600)
        redis.call('SADD', B .. 'pools', name)
      end
      views[w].pd, views[w].pw = views[w].pd + 1, views[w].pw + 1
      if skey ~= '' and sttl > 0 then
        redis.call('SET', B .. 'k:' .. skey, cands[w][1], 'EX', sttl)
      end
    end
    local c, s = cands[w], views[w]
    s.h, s.d, s.w = s.h + 1, s.d + 1, s.w + 1
    if s.olr == c[9] then s.ols = s.ols + 1 else s.olr, s.ols = c[9], 1 end
    sw[#sw + 1] = c[1]
    sw[#sw + 1] = owner_text(s, c)
    redis.call('HSET', S, unpack(sw))
    placed, winner_id = i - 1, c[1]
    break
  end
end
local result = cjson.encode({a = placed, o = winner_id, s = skips, k = sticky and 1 or 0, m = meta})
redis.call('SET', DK, result, 'EX', ttl)
return {0, result}
"""

_ATTEMPTS = 3


def encode_request(request: AssignRequest) -> str:
    """The request as the script reads it: positional JSON, no nulls (cjson's null is not nil)."""
    attempts = [
        [
            a.kind,
            a.name,
            a.strategy or "",
            a.balance_by or "",
            [
                [
                    c.owner_id,
                    c.weight,
                    c.skip or "",
                    -1 if c.cap_hour is None else c.cap_hour,
                    -1 if c.cap_day is None else c.cap_day,
                    c.hour_bucket,
                    c.day_bucket,
                    c.week_bucket,
                    c.open_load,
                ]
                for c in a.candidates
            ],
        ]
        for a in request.attempts
    ]
    return json.dumps(
        [
            request.lead_id,
            request.meta,
            request.sticky_key or "",
            request.sticky_ttl_s,
            request.returning_owner_credit,
            attempts,
            request.now_ms // 86_400_000,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def decode_result(replayed: Any, stored: bytes | str) -> AssignResult:
    decision = json.loads(stored)
    skips = decision["s"] if isinstance(decision["s"], list) else []  # cjson writes {} for an empty list
    return AssignResult(
        replayed=bool(replayed),
        attempt=None if decision["a"] < 0 else int(decision["a"]),
        owner_id=decision["o"] or None,
        skips=tuple(Skip(int(s[0]), s[1], s[2]) for s in skips),
        sticky=bool(decision["k"]),
        meta=decision["m"],
    )


def _shares(table: dict[bytes, bytes], count_into: dict[tuple[str, str], int]) -> None:
    """Adds count x share per (owner, bucket) from one pool-day's eligible-set counts."""
    for signature, placements in table.items():
        count = int(placements)
        for entry in signature.decode().split("\n"):
            owner, share, day, week = entry.rsplit("\t", 3)
            count_into[(owner, day)] = count_into.get((owner, day), 0) + count * int(share)
            count_into[(owner, "W" + week)] = count_into.get((owner, "W" + week), 0) + count * int(share)


class RedisAssignmentLedger:
    """An :class:`~processors.routing.ledger.AssignmentLedger` shared by every assign worker."""

    def __init__(self, client: redis.Redis, *, prefix: str, decision_ttl_s: int) -> None:
        self._client = client
        self._base = f"{prefix}:{{assign}}:"
        self._state = self._base + "s"
        self._ttl = decision_ttl_s
        self._script = client.register_script(ASSIGN)

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis | None = None) -> RedisAssignmentLedger:
        client = client or redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=5
        )
        return cls(client, prefix=settings.redis_prefix, decision_ttl_s=settings.assignment_ttl_days * 86_400)

    def assign_many(self, requests: Sequence[AssignRequest]) -> list[AssignResult]:
        if not requests:
            return []
        replies = self._run([encode_request(r) for r in requests])
        return [decode_result(replayed, stored) for replayed, stored in replies]

    def _run(self, payloads: list[str]) -> list[Any]:
        """One pipelined round trip; NOSCRIPT re-sends only the leads that hit it, in order."""
        results: list[Any] = [None] * len(payloads)
        pending = list(range(len(payloads)))
        for attempt in range(1, _ATTEMPTS + 2):
            try:
                pipe = self._client.pipeline(transaction=False)
                for index in pending:
                    pipe.evalsha(self._script.sha, 1, self._state, self._base, self._ttl, payloads[index])
                replies = pipe.execute(raise_on_error=False)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if attempt >= _ATTEMPTS:
                    raise DependencyUnavailable(f"Redis is unreachable: {error}") from error
                time.sleep(0.1 * 2**attempt)
                continue
            missing = []
            for index, reply in zip(pending, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    missing.append(index)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[index] = reply
            if not missing:
                return results
            self._load_script()
            pending = missing
        raise DependencyUnavailable("Redis kept losing the assignment script (NOSCRIPT)")

    def _load_script(self) -> None:
        try:
            self._client.script_load(self._script.script)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DependencyUnavailable(f"Redis is unreachable: {error}") from error

    def fairness(self, buckets: Iterable[tuple[str, str, str]], now_ms: int) -> list[Fairness]:
        """Per (owner id, owner-local day bucket, week bucket): counts and expected shares.

        Reads every pool's eligible-set counts of the last nine UTC days (an owner-local
        ISO week spans at most eight), so it is a report, not a hot-path call.
        """
        wanted = list(buckets)
        today = now_ms // 86_400_000
        try:
            pools = sorted(self._client.smembers(self._base + "pools"))
            pipe = self._client.pipeline(transaction=False)
            for pool in pools:
                for day in range(today - 8, today + 2):
                    pipe.hgetall(f"{self._base}e:{pool.decode()}:{day}")
            tables = pipe.execute()
            values = self._client.hmget(self._state, [owner for owner, _, _ in wanted]) if wanted else []
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DependencyUnavailable(f"Redis is unreachable: {error}") from error
        expected: dict[tuple[str, str], int] = {}
        for table in tables:
            _shares(table, expected)
        rows = []
        for (owner, day, week), value in zip(wanted, values, strict=True):
            parts = value.decode().split("|") if value else []
            today_ok = len(parts) == 10 and parts[2] == day
            week_ok = len(parts) == 10 and parts[5] == week
            rows.append(
                Fairness(
                    owner,
                    int(parts[3]) if today_ok else 0,
                    int(parts[6]) if week_ok else 0,
                    int(parts[4]) if today_ok else 0,
                    int(parts[7]) if week_ok else 0,
                    expected.get((owner, day), 0) / EXPECTED_UNIT,
                    expected.get((owner, "W" + week), 0) / EXPECTED_UNIT,
                )
            )
        return rows

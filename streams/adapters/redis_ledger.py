"""The assignment ledger in Redis: one Lua call decides a chunk of leads atomically for every worker.

Semantics are exactly :class:`~processors.routing.memory_ledger.InMemoryLedger`
(the script follows it step by step, lead after lead; one conformance suite runs both).

Layout (``A`` is ``<prefix>:{assign}:``)::

    A s               hash    owner id → "<hour>|<n>|<day>|<n>|<placed>|<week>|<n>|<placed>|
                              <reported open load>|<assigned since>": every counter of the
                              owner, each hour/day/week value valid only for the bucket before it
    A p:<pool>        hash    owner id → "<last placement seq>|<SWRR current>|<credit>|<offset day>|
                              <load offset>": the member's standing in that pool
    A q               string  the placement sequence (orders "least recently placed")
    A k:<sticky key>  string  the sticky owner, TTL sticky_ttl_s
    A d:<lead id>     string  the decision (JSON of the result and the caller's meta), TTL
    A e:<pool>:<day>  hash    eligible-set signature → placements that UTC day (expected shares), 9 days
    A pools           set     pools with expected-share counts, for ``fairness()``

One field per owner and per member (rather than one per counter) because the
script's cost is mostly Lua strings. Each counter holds only its current
bucket ("2026-11-25|7"): a new hour, day or week simply starts over, so nothing
grows with time and no clean-up runs. Every stored number is an integer
(expected shares in nano-leads, SWRR weights in thousandths), so nothing is
formatted as a float (``%.17g`` cost more than the rest of the script) and both
ledgers add exactly the same numbers.

Why chunks: with one call per lead, the call's fixed cost (arguments, a dozen
commands and their replies) was most of the 50-65 us of server time a lead in
a pool of 7 took. One call now decides up to ``chunk_size`` leads, in order, as
that many calls would: it reads each owner, member, sticky key and decision
once and keeps them in Lua tables (a later lead sees what an earlier one
changed, a lead id seen earlier in the chunk is a replay), and writes each
changed field, the placement sequence, the expected-share counts and the
decisions once at the end. The request is one JSON text in which each distinct
attempt appears once; each lead's meta is passed as a ready JSON string and
spliced into its stored decision, never decoded or re-encoded in Lua. Measured
on a shared 2-core machine: 10-16 us of server time per lead in a pool of 7 and
13-22 us for the example rules, where about half is the ~1.2 KB meta each
decision carries (passed in and stored). A chunk is one atomic step, stronger
than one lead at a time; the price is how long a call holds Redis. The default
of 100 leads holds it for 1-2 ms, so other clients still get a turn between
chunks; larger chunks gain little more, smaller ones cost more per lead.

Every key carries the ``{assign}`` hash tag, so one script touches many keys
on Redis Cluster too. The trade-off: all assignment state of one prefix lives
in one slot, hence on one node and one Redis core (roughly 50-70k leads/s per
prefix at the figures above). Deployments that outgrow it split by prefix (one per
business unit or region); decisions must share the slot because the
idempotency check and the counter moves are one atomic step.

A batch is one pipeline (one round trip) of one EVALSHA per chunk. NOSCRIPT
(a restarted or flushed Redis) is answered by loading the script and
re-sending just the chunks that hit it; results stay in request order. A
connection failure is retried briefly; a lead that the lost round trip had
already decided comes back as a replay (same owner, no counter moved twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
from redis.exceptions import NoScriptError

from processors.assign import rebuilt_meta
from processors.errors import DependencyUnavailable
from processors.models import Assignment
from processors.routing.ledger import AssignRequest, AssignResult, Attempt, Skip
from processors.routing.memory_ledger import EXPECTED_UNIT, Fairness
from processors.routing.recount import OwnerCounts
from streams.redis_client import redis_client
from streams.settings import Settings

ASSIGN = r"""
local S, B = KEYS[1], ARGV[1]
local Q = B .. 'q'
local ttl = tonumber(ARGV[2])
local input = cjson.decode(ARGV[3])
local ATTEMPTS, requests = input[1], input[2]
local call, fmt, match, sub, concat = redis.call, string.format, string.match, string.sub, table.concat
local floor, max, min = math.floor, math.max, math.min
local OWNER = '^' .. string.rep('([^|]*)|', 9) .. '([^|]*)$'
local MEMBER = '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$'

-- Read once per call, written once at the end; a later lead sees what an earlier one changed.
local owners, owners_changed, owners_order = {}, {}, {}  -- id → stored counters (false: none); changed
local pools, pools_touched = {}, {}    -- pool name → {key, name, m = owner id → member, changed, order}
local seq, seq_read, seq_moved = 0, false, false
local expected, expected_order = {}, {} -- pool → UTC day → {key, name, n = signature → count, order}
local sticky, sticky_new, sticky_order = {}, {}, {}  -- key → owner id (false: none); keys to SET
local decided, decisions = {}, {}      -- lead id → decision made in this call; SET arguments in order
local heads = {}                       -- results without skips: winner id → attempt * 2 + sticky → JSON

local function fetch_owners(cands)
  local need
  for j = 1, #cands do
    local id = cands[j][1]
    if owners[id] == nil then
      need = need or {}
      need[#need + 1] = id
    end
  end
  if not need then return end
  local vals = call('HMGET', S, unpack(need))
  for x = 1, #need do
    local v, o = vals[x], false
    if v then
      local hb, hn, db, dn, pd, wb, wn, pw, olr, ols = match(v, OWNER)
      o = {hb = hb, hn = tonumber(hn), db = db, dn = tonumber(dn), pd = tonumber(pd), wb = wb,
           wn = tonumber(wn), pw = tonumber(pw), olr = tonumber(olr), ols = tonumber(ols)}
    end
    owners[need[x]] = o
  end
end

-- The owner's counters after one more assignment (pool: 1 for a pool placement, else 0), seen
-- from candidate c's buckets: a stale bucket reads as 0.
local function counted(o, c, pool)
  local h, d, pd, w, pw, olr, ols = 0, 0, 0, 0, 0, -1, 0
  if o then
    if o.hb == c[6] then h = o.hn end
    if o.db == c[7] then d, pd = o.dn, o.pd end
    if o.wb == c[8] then w, pw = o.wn, o.pw end
    olr, ols = o.olr, o.ols
  end
  if olr == c[9] then ols = ols + 1 else olr, ols = c[9], 1 end
  return {hb = c[6], hn = h + 1, db = c[7], dn = d + 1, pd = pd + pool, wb = c[8], wn = w + 1, pw = pw + pool,
          olr = olr, ols = ols}
end

local function is_absence(reason)
  local head = sub(reason, 1, 13)
  return head ~= 'missing skill' and head ~= 'unknown owner'
end

-- A pool's members (placed seq or nil, SWRR current, credit, offset day, offset), fetched as needed.
local function pool_of(name, cands)
  local p = pools[name]
  if not p then
    p = {key = B .. 'p:' .. name, name = name, m = {}, changed = {}, order = {}}
    pools[name] = p
    pools_touched[#pools_touched + 1] = p
  end
  local m, need = p.m, nil
  for j = 1, #cands do
    local id = cands[j][1]
    if m[id] == nil then
      need = need or {}
      need[#need + 1] = id
    end
  end
  if need then
    local vals = call('HMGET', p.key, unpack(need))
    for x = 1, #need do
      local r, v = {c = 0, k = 0, fb = '', f = 0}, vals[x]
      if v then
        local t, cw, k, fb, f = match(v, MEMBER)
        r.t, r.c, r.k, r.fb, r.f = tonumber(t), tonumber(cw), tonumber(k), fb, tonumber(f)
      end
      m[need[x]] = r
    end
  end
  return p
end

local function touch(p, id)
  if not p.changed[id] then
    p.changed[id] = true
    p.order[#p.order + 1] = id
  end
end

local function member_hash(p, id, r)
  local h = r.h
  if not h then
    h = redis.sha1hex(p.name .. '\n' .. id)
    r.h = h
  end
  return h
end

-- a was placed by this pool less recently than b
local function less_recent(p, a, b)
  local ra, rb = p.m[a], p.m[b]
  local ta, tb = ra.t, rb.t
  if not ta and not tb then return member_hash(p, a, ra) < member_hash(p, b, rb) end
  if not ta then return true end
  if not tb then return false end
  return ta < tb
end

local function load(c, o, balance_by, r)
  local l
  if balance_by == 'open_load' then
    if o and o.olr == c[9] then l = c[9] + o.ols else l = c[9] end
  else
    l = 0
    if o and o.db == c[7] then l = o.dn end
  end
  if r.fb == c[7] then l = l + r.f end
  return l
end

-- The eligible set's total weight, SWRR weights and expected-share signature (id, share, day,
-- week per member). Usually every unskipped candidate is eligible: then it is the same for every
-- lead of the attempt, so it is kept on the attempt, which the chunk's leads share.
local function shape(att, cands, eligible)
  local kept = att.kept
  if not kept then
    local open = 0
    for j = 1, #cands do
      if cands[j][3] == '' then open = open + 1 end
    end
    kept = {open = open}
    att.kept = kept
  end
  local full = #eligible == kept.open
  if full and kept.total then return kept.total, kept.total_q, kept.wq, kept.signature end
  local total, total_q, wq = 0, 0, {}
  for _, j in ipairs(eligible) do
    total = total + cands[j][2]
    wq[j] = max(1, floor(cands[j][2] * 1000 + 0.5))
    total_q = total_q + wq[j]
  end
  local parts = {}
  for x, j in ipairs(eligible) do
    local c = cands[j]
    local share = fmt('%d', floor(c[2] * 1000000000 / total + 0.5))
    parts[x] = c[1] .. '\t' .. share .. '\t' .. c[7] .. '\t' .. c[8]
  end
  local signature = concat(parts, '\n')
  if full then kept.total, kept.total_q, kept.wq, kept.signature = total, total_q, wq, signature end
  return total, total_q, wq, signature
end

-- Chooses the pool's winner among the eligible candidates and moves the pool's bookkeeping.
local function place(att, cands, eligible, skey, sttl, credit, utc_day)
  local name, strategy, balance_by = att[2], att[3], att[4]
  local p = pool_of(name, cands)
  local m = p.m
  local total, total_q, wq, signature = shape(att, cands, eligible)
  local chosen = nil
  if skey ~= '' then
    local so = sticky[skey]
    if so == nil then
      so = call('GET', B .. 'k:' .. skey)
      sticky[skey] = so
    end
    if so then
      for _, j in ipairs(eligible) do
        if cands[j][1] == so then chosen = j break end
      end
    end
  end
  local was_sticky = chosen ~= nil
  local loads = {}
  if strategy == 'load_balanced' then
    for _, j in ipairs(eligible) do
      local id = cands[j][1]
      loads[j] = load(cands[j], owners[id], balance_by, m[id])
    end
  elseif strategy == 'weighted' then
    for _, j in ipairs(eligible) do
      local id = cands[j][1]
      local r = m[id]
      r.c = r.c + wq[j]
      touch(p, id)
    end
  end
  if chosen == nil and credit > 0 and strategy ~= 'load_balanced' then
    for _, j in ipairs(eligible) do
      if m[cands[j][1]].k > 0 and (chosen == nil or less_recent(p, cands[j][1], cands[chosen][1])) then
        chosen = j
      end
    end
    if chosen ~= nil then
      local r = m[cands[chosen][1]]
      r.k = r.k - 1
    end
  end
  if chosen == nil then
    chosen = eligible[1]
    for x = 2, #eligible do
      local j = eligible[x]
      local id, cid = cands[j][1], cands[chosen][1]
      if strategy == 'weighted' then
        local cj, cc = m[id].c, m[cid].c
        if cj > cc or (cj == cc and less_recent(p, id, cid)) then chosen = j end
      elseif strategy == 'load_balanced' then
        if loads[j] < loads[chosen] or (loads[j] == loads[chosen] and less_recent(p, id, cid)) then
          chosen = j
        end
      elseif less_recent(p, id, cid) then
        chosen = j
      end
    end
  end
  local w = chosen
  local wid = cands[w][1]
  local wr = m[wid]
  if strategy == 'weighted' then wr.c = wr.c - total_q end
  if not seq_read then
    seq = tonumber(call('GET', Q)) or 0
    seq_read = true
  end
  seq = seq + 1
  seq_moved = true
  wr.t = seq
  touch(p, wid)
  if strategy == 'load_balanced' then
    local seen = {}
    local least = nil
    for _, j in ipairs(eligible) do
      if least == nil or loads[j] < least then least = loads[j] end
    end
    local lowest = least - credit
    for j = 1, #cands do
      local c = cands[j]
      local id = c[1]
      if c[3] ~= '' and is_absence(c[3]) and not seen[id] then
        seen[id] = true
        local r = m[id]
        local l = load(c, owners[id], balance_by, r)
        if l < lowest then
          local keep = 0
          if r.fb == c[7] then keep = r.f end
          r.fb, r.f = c[7], keep + lowest - l
          touch(p, id)
        end
      end
    end
  elseif credit > 0 then
    local seen = {}
    for j = 1, #cands do
      local c = cands[j]
      local id = c[1]
      if c[3] ~= '' and is_absence(c[3]) and not seen[id] then
        seen[id] = true
        local r = m[id]
        r.k = min(r.k + 1, credit)
        touch(p, id)
      end
    end
  end
  -- expected shares: one count per distinct eligible set and UTC day
  local days = expected[name]
  if not days then
    days = {}
    expected[name] = days
  end
  local e = days[utc_day]
  if not e then
    e = {key = B .. 'e:' .. name .. ':' .. utc_day, name = name, n = {}, order = {}}
    days[utc_day] = e
    expected_order[#expected_order + 1] = e
  end
  local so_far = e.n[signature]
  if so_far then
    e.n[signature] = so_far + 1
  else
    e.n[signature] = 1
    e.order[#e.order + 1] = signature
  end
  if skey ~= '' and sttl > 0 then
    sticky[skey] = wid
    if not sticky_new[skey] then sticky_order[#sticky_order + 1] = skey end
    sticky_new[skey] = {wid, sttl}
  end
  return w, was_sticky
end

-- One lead, exactly as the in-memory ledger decides it; returns the result without the meta.
local function decide(req)
  local skey, sttl, credit, refs, utc_day = req[2], req[3], req[4], req[5], req[6]
  local skips = {}
  local placed, winner_id, was_sticky = -1, '', false
  for i, ref in ipairs(refs) do
    local att = ATTEMPTS[ref]
    local kind, cands = att[1], att[5]
    if kind == 'queue' then placed = i - 1 break end
    local n = #cands
    if n > 0 then fetch_owners(cands) end
    local eligible = {}
    for j = 1, n do
      local c = cands[j]
      if c[3] ~= '' then
        skips[#skips + 1] = {i - 1, c[1], c[3]}
      else
        local o, h, d = owners[c[1]], 0, 0
        if o then
          if o.hb == c[6] then h = o.hn end
          if o.db == c[7] then d = o.dn end
        end
        if c[4] >= 0 and h >= c[4] then
          skips[#skips + 1] = {i - 1, c[1], fmt('hourly cap reached (%d/%d)', h, c[4])}
        elseif c[5] >= 0 and d >= c[5] then
          skips[#skips + 1] = {i - 1, c[1], fmt('daily cap reached (%d/%d)', d, c[5])}
        else
          eligible[#eligible + 1] = j
        end
      end
    end
    if #eligible > 0 then
      local w, pool = eligible[1], 0
      if kind == 'pool' then
        w, was_sticky = place(att, cands, eligible, skey, sttl, credit, utc_day)
        pool = 1
      end
      local id = cands[w][1]
      owners[id] = counted(owners[id], cands[w], pool)
      if not owners_changed[id] then
        owners_changed[id] = true
        owners_order[#owners_order + 1] = id
      end
      placed, winner_id = i - 1, id
      break
    end
  end
  local k = was_sticky and 1 or 0
  if #skips > 0 then return cjson.encode({a = placed, o = winner_id, s = skips, k = k}) end
  local by_owner = heads[winner_id]
  if not by_owner then
    by_owner = {}
    heads[winner_id] = by_owner
  end
  local head = by_owner[placed * 2 + k]
  if not head then
    head = cjson.encode({a = placed, o = winner_id, s = skips, k = k})
    by_owner[placed * 2 + k] = head
  end
  return head
end

local keys = {}
for i = 1, #requests do keys[i] = B .. 'd:' .. requests[i][1] end
local stored = call('MGET', unpack(keys))
-- the sticky owners this chunk may look up: new leads with a sticky key and a pool attempt
local wanted, seen_keys = {}, {}
for i = 1, #requests do
  local req = requests[i]
  local skey = req[2]
  if not stored[i] and skey ~= '' and not seen_keys[skey] then
    for _, ref in ipairs(req[5]) do
      if ATTEMPTS[ref][1] == 'pool' then
        seen_keys[skey] = true
        wanted[#wanted + 1] = skey
        break
      end
    end
  end
end
if #wanted > 0 then
  local names = {}
  for x = 1, #wanted do names[x] = B .. 'k:' .. wanted[x] end
  local owners_found = call('MGET', unpack(names))
  for x = 1, #wanted do sticky[wanted[x]] = owners_found[x] end
end
local out = {}
for i = 1, #requests do
  local lead = requests[i][1]
  local earlier = decided[lead] or stored[i]
  if earlier then
    out[#out + 1] = 1
    out[#out + 1] = earlier
  else
    local head = decide(requests[i])
    local decision = sub(head, 1, -2) .. ',"m":' .. ARGV[3 + i] .. '}'
    decided[lead] = decision
    decisions[#decisions + 1] = keys[i]
    decisions[#decisions + 1] = decision
    out[#out + 1] = 0
    out[#out + 1] = head
  end
end

if #owners_order > 0 then
  local args = {}
  for _, id in ipairs(owners_order) do
    local o = owners[id]
    args[#args + 1] = id
    args[#args + 1] = fmt('%s|%d|%s|%d|%d|%s|%d|%d|%d|%d', o.hb, o.hn, o.db, o.dn, o.pd, o.wb, o.wn, o.pw,
                          o.olr, o.ols)
  end
  call('HSET', S, unpack(args))
end
for _, p in ipairs(pools_touched) do
  if #p.order > 0 then
    local args = {}
    for _, id in ipairs(p.order) do
      local r = p.m[id]
      args[#args + 1] = id
      args[#args + 1] = fmt('%s|%d|%d|%s|%d', r.t and fmt('%d', r.t) or '', r.c, r.k, r.fb, r.f)
    end
    call('HSET', p.key, unpack(args))
  end
end
if seq_moved then call('SET', Q, fmt('%d', seq)) end
for _, e in ipairs(expected_order) do
  for _, signature in ipairs(e.order) do
    local count = e.n[signature]
    if call('HINCRBY', e.key, signature, count) == count then
      call('EXPIRE', e.key, 777600)
      call('SADD', B .. 'pools', e.name)
    end
  end
end
for _, key in ipairs(sticky_order) do
  local set = sticky_new[key]
  call('SET', B .. 'k:' .. key, set[1], 'EX', set[2])
end
for x = 1, #decisions, 2 do call('SET', decisions[x], decisions[x + 1], 'EX', ttl) end
return out
"""

_ATTEMPTS = 3
#: Leads per script call: 1-2 ms of Redis time, so other clients get a turn between chunks.
DEFAULT_CHUNK = 100
MAX_CHUNK = 1000


def encode_chunk(requests: Sequence[AssignRequest]) -> list[str]:
    """One script call's arguments after the base and TTL.

    First one JSON text (decoded once per call): each distinct attempt once, then
    per lead its id, sticky key, sticky TTL, credit, attempt numbers and UTC day;
    positional, no nulls (cjson's null is not nil). Then each lead's meta as a JSON
    string, which the script splices into the stored decision without decoding it
    (the meta is most of a request's bytes).
    """
    attempts: list[list[Any]] = []
    numbers: dict[tuple[Any, ...], int] = {}
    leads: list[list[Any]] = []
    for request in requests:
        refs = []
        for a in request.attempts:
            # Candidates are shared within a batch, so their identity is a cheap key; they outlive the call.
            key = (a.kind, a.name, a.strategy, a.balance_by, *map(id, a.candidates))
            number = numbers.get(key)
            if number is None:
                attempts.append(_attempt_fields(a))
                number = numbers[key] = len(attempts)
            refs.append(number)
        leads.append(
            [
                request.lead_id,
                request.sticky_key or "",
                request.sticky_ttl_s,
                request.returning_owner_credit,
                refs,
                request.now_ms // 86_400_000,
            ]
        )
    head = json.dumps([attempts, leads], separators=(",", ":"), ensure_ascii=False)
    return [head, *(json.dumps(request.meta, ensure_ascii=False) for request in requests)]


def _attempt_fields(a: Attempt) -> list[Any]:
    return [
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


def _decode_fresh(head: bytes | str) -> tuple[int | None, str | None, tuple[Skip, ...], bool]:
    """A decision the script just made, without its meta (the caller's own)."""
    decision = json.loads(head)
    skips = decision["s"] if isinstance(decision["s"], list) else []  # cjson writes {} for an empty list
    return (
        None if decision["a"] < 0 else int(decision["a"]),
        decision["o"] or None,
        tuple(Skip(int(s[0]), s[1], s[2]) for s in skips),
        bool(decision["k"]),
    )


def decode_result(replayed: Any, stored: bytes | str) -> AssignResult:
    """A stored decision (JSON of the result and its meta), as a replay hands it back."""
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


def rebuilt_decision(assignment: Assignment) -> str:
    """A stored decision made from its event, in the script's format (see ``decode_result``)."""
    owner = assignment["destination"] if assignment["destination_type"] == "owner" else ""
    head = {"a": assignment["fallback_depth"], "o": owner, "s": [], "k": 1 if assignment["sticky"] else 0}
    head["m"] = json.dumps(rebuilt_meta(assignment), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))


def _shares(table: dict[bytes, bytes], count_into: dict[tuple[str, str], int]) -> None:
    """Adds count x share per (owner, bucket) from one pool-day's eligible-set counts."""
    for signature, placements in table.items():
        count = int(placements)
        for entry in signature.decode().split("\n"):
            owner, share, day, week = entry.rsplit("\t", 3)
            count_into[(owner, day)] = count_into.get((owner, day), 0) + count * int(share)
            count_into[(owner, "W" + week)] = count_into.get((owner, "W" + week), 0) + count * int(share)


class RedisAssignmentLedger:
    """An :class:`~processors.routing.ledger.AssignmentLedger` shared by every assign worker.

    ``chunk_size`` is the most leads one script call decides: larger chunks cost less per
    lead but hold Redis longer (see the module docstring).
    """

    def __init__(
        self, client: redis.Redis, *, prefix: str, decision_ttl_s: int, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be 1..{MAX_CHUNK}, not {chunk_size}")
        self._client = client
        self._base = f"{prefix}:{{assign}}:"
        self._state = self._base + "s"
        self._ttl = decision_ttl_s
        self._chunk = chunk_size
        self._script = client.register_script(ASSIGN)

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis | None = None) -> RedisAssignmentLedger:
        client = client or redis_client(settings, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix=settings.redis_prefix, decision_ttl_s=settings.assignment_ttl_days * 86_400)

    def assign_many(self, requests: Sequence[AssignRequest]) -> list[AssignResult]:
        if not requests:
            return []
        size = self._chunk
        replies = self._run([encode_chunk(requests[i : i + size]) for i in range(0, len(requests), size)])
        flat = [item for reply in replies for item in reply]  # per lead: replayed (0/1), decision
        if len(flat) != 2 * len(requests):
            raise DependencyUnavailable(f"Redis answered {len(flat) // 2} of {len(requests)} decisions")
        results: list[AssignResult] = []
        fresh: dict[bytes | str, tuple[int | None, str | None, tuple[Skip, ...], bool]] = {}
        for request, replayed, text in zip(requests, flat[::2], flat[1::2], strict=True):
            if replayed:
                results.append(decode_result(True, text))
                continue
            decided = fresh.get(text)  # most fresh decisions repeat within a batch: decode each once
            if decided is None:
                decided = fresh[text] = _decode_fresh(text)
            results.append(AssignResult(False, *decided, request.meta))
        return results

    def remember(self, assignments: Iterable[Assignment], now_ms: int) -> int:
        """Stores decisions read back from leads.assigned, each only where none is stored.

        After Redis lost the ledger, a lead decided before and delivered again
        must keep its owner; its event holds everything the replayed event
        needs. Counters, rotation and fairness are not rebuilt (see
        docs/assignment.md). Returns how many decisions were stored.
        """
        pipe = self._client.pipeline(transaction=False)
        seen: set[str] = set()
        for assignment in assignments:
            lead_id = assignment["lead_id"]
            ttl = self._ttl - max(0, now_ms - assignment["decided_at_ms"]) // 1000
            if lead_id in seen or ttl <= 0:
                continue
            seen.add(lead_id)
            pipe.set(self._base + "d:" + lead_id, rebuilt_decision(assignment), nx=True, ex=ttl)
        if not seen:
            return 0
        try:
            return sum(1 for stored in pipe.execute() if stored)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DependencyUnavailable(f"Redis is unreachable: {error}") from error

    def restore_counts(self, counts: Mapping[str, OwnerCounts]) -> int:
        """Writes owners' recounted hour, day and week counts where Redis holds none (see recount)."""
        if not counts:
            return 0
        pipe = self._client.pipeline(transaction=False)
        for owner_id, c in counts.items():
            stored = (
                f"{c.hour}|{c.hour_n}|{c.day}|{c.day_n}|{c.day_pool}|{c.week}|{c.week_n}|{c.week_pool}|-1|0"
            )
            pipe.hsetnx(self._state, owner_id, stored)
        try:
            return sum(1 for written in pipe.execute() if written)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DependencyUnavailable(f"Redis is unreachable: {error}") from error

    def _run(self, payloads: list[list[str]]) -> list[Any]:
        """One pipelined round trip; NOSCRIPT re-sends only the chunks that hit it, in order."""
        results: list[Any] = [None] * len(payloads)
        pending = list(range(len(payloads)))
        for attempt in range(1, _ATTEMPTS + 2):
            try:
                pipe = self._client.pipeline(transaction=False)
                for index in pending:
                    pipe.evalsha(self._script.sha, 1, self._state, self._base, self._ttl, *payloads[index])
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

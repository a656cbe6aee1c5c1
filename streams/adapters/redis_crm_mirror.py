"""The CRM mirror in Redis: crm-sync writes it, every match worker reads it.

Layout (``P`` is ``{prefix}:{crm}:``; the ``{crm}`` hash tag keeps every key of
the mirror in one slot, because the scripts read keys they compute)::

    P r:a  r:c  r:l  r:o     hash    id -> stored record (accounts, contacts, leads, opportunities)
    P x:token:<token>        string  "\\n<account id>\\n<account id>\\n": a name-token posting, packed
    P tn                     hash    token -> accounts in its posting
    P w                      hash    account id -> " <token> <token> ": its name tokens
    P x:<index key>          hash    member -> "": people:, children: and opps: postings
    P b:<family>:<bucket>    hash    value -> JSON array of members: email, phone, pname, domain
    P s                      hash    account id -> "<contacts>" or "<contacts>\\n<open opportunity ids>"

Records live as fields of one hash per kind rather than a key each: a key
costs ~60 bytes of bookkeeping, and a look-up reads 20-30 records with one
HMGET without building key names. Record counts (the mirror-size gauge) are
the hashes' lengths.

A stored record is a JSON array of its model's fields in declaration order (no
field names: ~40% smaller than an object), a newline, then its link: an
account's ``parent_id``, a person's ``account_id`` (a link that itself holds a
newline is not stored, so it is not followed; CRM ids never do). JSON never
holds a raw newline, so scripts find the link without decoding JSON, and a
look-up returns stored values as they are, one per line, for Python to decode
in a single ``json.loads``. Keys a record has beyond its model ride along as a
trailing object; keys it lacks come back as ``None``.

Index keys and members are exactly :func:`~processors.crm.indexing.index_entries`;
how a posting is kept depends on its family, for memory and for look-up speed:

* Name tokens: a look-up counts every account of every posting it asks for
  (up to ``max_posting`` each), ~1,500 accounts for a typical lead at 1M
  accounts. Packed in one string, a posting is read with one GET and parsed in
  Lua at ~0.2 us per account, twice as fast as reading a set member by member,
  and takes ~20 bytes per account instead of ~100 in a large sorted set. The
  write script appends a member (the compare-and-set write path only adds what
  the stored record did not own); postings of up to 512 accounts are checked
  and rewritten whole, so no add is ever doubled and no append slack is kept.
  Account ids holding a newline cannot be packed and are not indexed by name.
* A token busier than ``max_posting`` is never read; it counts for the accounts the
  other tokens found through their entries in ``P w`` (one HMGET, a substring test
  each), which the write script keeps exact alongside the postings.
* Email, phone, person name, domain: nearly every posting has one member, so
  rather than a key each (~150 bytes) a posting is a field of one of 65,536
  bucket hashes per family (crc32 of the value), holding its sorted members as
  a JSON array (~60 bytes, packed while a bucket has under 512 fields).
* An account's people, children and open opportunities: hashes with empty
  values (packed up to 512 members on every Redis version; sets pack strings
  only from 7.2).

The summary of an account (``P s``) is derived from its exact ``people:`` and
``opps:`` postings by the write script, in the same atomic step, so a look-up
gets every candidate's contact count and open opportunity ids with one HMGET
instead of two commands per candidate.

Writes are optimistic compare-and-set per record: read the stored version,
compute the index entries it owns and the new version owns
(:func:`~processors.crm.indexing.index_entries`, in Python, so both mirrors
agree), then a script applies the diff only if the stored version is still the
one read; otherwise the record is read again and retried. crm-sync workers own
different partitions, hence different record ids, so a conflict only happens
when a partition moves between workers mid-batch. Applying a version that is
already stored changes nothing, so replays are harmless.

Look-ups are one script call per lead that does every read server-side. The
script never writes, so it can run on a replica (``reader``): that is how reads
scale past one Redis core. :meth:`RedisCrmMirror.candidates_many` sends a batch
on one connection without waiting between leads, a few leads ahead of the reply
being decoded, so Python decodes while Redis computes (separate calls rather
than one long script, so other clients get a turn between leads).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, get_type_hints

import orjson
import redis

from processors.crm.indexing import index_entries
from processors.crm.memory import (
    DEFAULT_MAX_BUSY_POOL,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MAX_POSTING,
    DEFAULT_MAX_TYPO_POSTING,
)
from processors.crm.models import (
    RECORD_KINDS,
    Account,
    Candidates,
    MatchQuery,
    Opportunity,
    Person,
    RecordKind,
)
from processors.crm.names import prepared
from processors.errors import DependencyUnavailable
from streams.redis_client import connection_pool_for, redis_client
from streams.settings import Settings

#: One letter per kind in key names.
KIND_CODES: dict[RecordKind, str] = {"account": "a", "contact": "c", "lead": "l", "opportunity": "o"}

#: Field order of the stored arrays. Changing it changes the stored format. Accounts
#: also carry ``name_key``, the comparison form every mirror stores (names.prepared).
FIELDS: dict[RecordKind, tuple[str, ...]] = {
    "account": tuple(dict.fromkeys((*get_type_hints(Account), "name_key"))),
    "contact": tuple(get_type_hints(Person)),
    "lead": tuple(get_type_hints(Person)),
    "opportunity": tuple(get_type_hints(Opportunity)),
}
_LINK_FIELD: dict[RecordKind, str | None] = {
    "account": "parent_id",
    "contact": "account_id",
    "lead": "account_id",
    "opportunity": None,
}

#: Bytewise string order in Lua whatever the server's collation. Python sorts str by
#: code point, which is UTF-8 byte order; Lua's "<" follows the server's LC_COLLATE,
#: so it is used only when that is bytewise (lt == nil), else a byte-by-byte compare.
_LUA_BYTEWISE = """
local lt = nil
if not (('B' < 'a') and ('Z' < '_') and ('_' < 'a') and ('0' < 'A')) then
  lt = function(a, b)
    local la, lb = #a, #b
    local m = la < lb and la or lb
    for i = 1, m do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then return x < y end
    end
    return la < lb
  end
end
local function less(a, b)
  if lt then return lt(a, b) end
  return a < b
end
"""

#: Apply one record's change if the stored version is still the one the caller read,
#: then rebuild the summary of every account whose people or opportunities changed.
#: KEYS: the kind's record hash, the summaries hash. ARGV: key prefix, record id,
#: expected ("" = absent), new ("" = delete), then how many posting removals, posting
#: additions and bucket removals follow; then (index key, member) pairs for postings,
#: removals first; then (bucket, field, member) triples for buckets, removals first.
#: Returns 1 if applied, 0 on a conflict.
APPLY_CHANGE = (
    _LUA_BYTEWISE
    + "local SMALL_POSTING = 512\n"
    + """
local current = redis.call('HGET', KEYS[1], ARGV[2]) or ''
if current ~= ARGV[3] then
  return 0
end
local X = ARGV[1] .. 'x:'
local B = ARGV[1] .. 'b:'
local touched = {}
local function touch(index_key)
  if string.sub(index_key, 1, 7) == 'people:' then
    touched[string.sub(index_key, 8)] = true
  elseif string.sub(index_key, 1, 5) == 'opps:' then
    touched[string.sub(index_key, 6)] = true
  end
end
local function bucket_change(key, field, member, add)
  local stored = redis.call('HGET', key, field)
  local members = stored and cjson.decode(stored) or {}
  local at = nil
  for i, m in ipairs(members) do
    if m == member then at = i break end
  end
  if add then
    if at then return end
    members[#members + 1] = member
    table.sort(members, lt)
  else
    if not at then return end
    table.remove(members, at)
  end
  if #members == 0 then
    redis.call('HDEL', key, field)
  else
    redis.call('HSET', key, field, cjson.encode(members))
  end
end
-- a name-token posting is one string, "\\n<id>\\n<id>\\n", its size in the token-sizes hash;
-- each account's tokens are also kept as " <token> <token> " in the words hash
local TN = ARGV[1] .. 'tn'
local W = ARGV[1] .. 'w'
local function words_change(member, token, add)
  local stored = redis.call('HGET', W, member) or ' '
  if add then
    redis.call('HSET', W, member, stored .. token .. ' ')
    return
  end
  local at = string.find(stored, ' ' .. token .. ' ', 1, true)
  if not at then return end
  stored = string.sub(stored, 1, at) .. string.sub(stored, at + #token + 2)
  if stored == ' ' then
    redis.call('HDEL', W, member)
  else
    redis.call('HSET', W, member, stored)
  end
end
local function token_change(index_key, member, add)
  local key = X .. index_key
  local token = string.sub(index_key, 7)
  local size = tonumber(redis.call('HGET', TN, token) or '0')
  local packed = '\\n' .. member .. '\\n'
  if add then
    -- The write path only adds what the stored record did not own, so a member is new;
    -- small postings are still checked, so an add is never doubled, and rewritten whole
    -- (APPEND would reserve as much again as the string holds); big ones are appended to.
    if size == 0 then
      redis.call('SET', key, packed)
    elseif size > SMALL_POSTING then
      redis.call('APPEND', key, member .. '\\n')
    else
      local stored = redis.call('GET', key)
      if string.find(stored, packed, 1, true) then return end
      redis.call('SET', key, stored .. member .. '\\n')
    end
    redis.call('HSET', TN, token, size + 1)
    words_change(member, token, true)
  else
    local stored = redis.call('GET', key)
    local at = stored and string.find(stored, packed, 1, true)
    if not at then return end
    if size <= 1 then
      redis.call('DEL', key)
      redis.call('HDEL', TN, token)
    else
      redis.call('SET', key, string.sub(stored, 1, at) .. string.sub(stored, at + #packed))
      redis.call('HSET', TN, token, size - 1)
    end
    words_change(member, token, false)
  end
end
local i = 8
for _ = 1, tonumber(ARGV[5]) do
  if string.sub(ARGV[i], 1, 6) == 'token:' then
    token_change(ARGV[i], ARGV[i + 1], false)
  else
    redis.call('HDEL', X .. ARGV[i], ARGV[i + 1])
    touch(ARGV[i])
  end
  i = i + 2
end
for _ = 1, tonumber(ARGV[6]) do
  if string.sub(ARGV[i], 1, 6) == 'token:' then
    token_change(ARGV[i], ARGV[i + 1], true)
  else
    redis.call('HSET', X .. ARGV[i], ARGV[i + 1], '')
    touch(ARGV[i])
  end
  i = i + 2
end
local removals = tonumber(ARGV[7])
local done = 0
while i < #ARGV do
  bucket_change(B .. ARGV[i], ARGV[i + 1], ARGV[i + 2], done >= removals)
  done = done + 1
  i = i + 3
end
for account_id in pairs(touched) do
  local people = redis.call('HLEN', X .. 'people:' .. account_id)
  local opportunities = redis.call('HKEYS', X .. 'opps:' .. account_id)
  if #opportunities > 0 then
    table.sort(opportunities, lt)
    redis.call('HSET', KEYS[2], account_id, people .. '\\n' .. cjson.encode(opportunities))
  elseif people > 0 then
    redis.call('HSET', KEYS[2], account_id, people)
  else
    redis.call('HDEL', KEYS[2], account_id)
  end
end
local new = ARGV[4]
if new == '' then
  if current ~= '' then
    redis.call('HDEL', KEYS[1], ARGV[2])
  end
elseif new ~= current then
  redis.call('HSET', KEYS[1], ARGV[2], new)
end
return 1
"""
)

#: Everything the matcher needs for one lead. The reply is a header line, then the
#: stored values (record, newline, link) joined by newlines, in this order: people by
#: email, by phone, by name; every account involved, once; the open opportunities of
#: each of those accounts. Header: [people by email, by phone, by name, accounts,
#: [by-domain positions], [by-name positions], [related positions], [contact count per
#: account], [open opportunities per account]]; positions index the accounts.
#: KEYS: the account hash (declares the slot). ARGV: key prefix, max candidates,
#: max posting, "<max typo posting>:<max busy pool>", then email key, phone, person name key and domain
#: ("" = not asked), each followed by its bucket; "1" to skip name candidates when the
#: domain found an account; the number of name tokens and the tokens; then the typo words.
CANDIDATES = (
    "#!lua flags=no-writes\n"  # read-only: may run on a replica (EVALSHA_RO)
    + _LUA_BYTEWISE
    + """
local P = ARGV[1]
local X = P .. 'x:'
local RA, RC, RL, RO, S = P .. 'r:a', P .. 'r:c', P .. 'r:l', P .. 'r:o', P .. 's'
local max_candidates = tonumber(ARGV[2])
local max_posting = tonumber(ARGV[3])
local find, sub = string.find, string.sub
local limits = ARGV[4]
local max_typo_posting = tonumber(sub(limits, 1, find(limits, ':', 1, true) - 1))
local max_busy_pool = tonumber(sub(limits, find(limits, ':', 1, true) + 1))

local out = {}      -- stored values, in reply order
local wanted = {}   -- account ids that may be related accounts

local function hmget(key, fields)
  local values = {}
  for first = 1, #fields, 1000 do
    local chunk = redis.call('HMGET', key, unpack(fields, first, math.min(first + 999, #fields)))
    for _, value in ipairs(chunk) do values[#values + 1] = value end
  end
  return values
end

-- a one-member-mostly posting, kept sorted in a bucket as a JSON array
local function bucketed(family, value, bucket)
  local stored = redis.call('HGET', P .. 'b:' .. family .. ':' .. bucket, value)
  if not stored then return {} end
  return cjson.decode(stored)
end

local function people(family, value, bucket)
  local refs = bucketed(family, value, bucket)  -- sorted: "contact:" refs before "lead:" ones
  if #refs == 0 then return 0 end
  local contacts, leads = {}, {}
  for _, ref in ipairs(refs) do
    if sub(ref, 1, 8) == 'contact:' then
      contacts[#contacts + 1] = sub(ref, 9)
    else
      leads[#leads + 1] = sub(ref, 6)
    end
  end
  local found = 0
  for _, values in ipairs({hmget(RC, contacts), hmget(RL, leads)}) do
    for _, value in ipairs(values) do
      if value then
        found = found + 1
        out[#out + 1] = value
        local link = sub(value, find(value, '\\n', 1, true) + 1)
        if link ~= '' then wanted[#wanted + 1] = link end
      end
    end
  end
  return found
end

local by_email = ARGV[5] ~= '' and people('email', ARGV[5], ARGV[6]) or 0
local by_phone = ARGV[7] ~= '' and people('phone', ARGV[7], ARGV[8]) or 0
local by_name = ARGV[9] ~= '' and people('pname', ARGV[9], ARGV[10]) or 0

-- accounts: fetched once, emitted once, referred to by position
local order, position, parents = {}, {}, {}
local function fetch(ids)
  local asked, fields = {}, {}
  for _, id in ipairs(ids) do
    if position[id] == nil and not asked[id] then
      asked[id] = true
      fields[#fields + 1] = id
    end
  end
  for i, value in ipairs(hmget(RA, fields)) do
    local id = fields[i]
    if value then
      order[#order + 1] = id
      position[id] = #order - 1
      out[#out + 1] = value
      parents[id] = sub(value, find(value, '\\n', 1, true) + 1)
    else
      position[id] = false
    end
  end
end
local function positions(ids)
  local found = {}
  for _, id in ipairs(ids) do
    local at = position[id]
    if at then found[#found + 1] = at end
  end
  return found
end

local domain_ids = {}
if ARGV[11] ~= '' then
  domain_ids = bucketed('domain', ARGV[11], ARGV[12])
end
fetch(domain_ids)
local d_pos = positions(domain_ids)

-- Accounts sharing name tokens, ranked by tokens shared (a repeated token counts
-- again), ties by id; tokens carried by more than max_posting accounts are skipped.
-- A typo word no account carries is replaced by its variants (as
-- indexing.typo_variants builds them: one letter dropped, two neighbours swapped),
-- counted the same way up to max_typo_posting accounts each; by its four-letter ends
-- ("abcd~", "~wxyz": big postings) only when no other variant is carried. Every
-- account of every qualifying posting is counted: an exact top K cannot skip any.
-- Postings are packed strings, one GET each; parsing and counting (~0.2 us per
-- member) is most of the work.
local size_of = {}
local function sizes(list)
  local missing = {}
  for _, token in ipairs(list) do
    if size_of[token] == nil then
      size_of[token] = 0
      missing[#missing + 1] = token
    end
  end
  if #missing > 0 then
    for i, size in ipairs(hmget(P .. 'tn', missing)) do
      size_of[missing[i]] = tonumber(size or '0')
    end
  end
end
local function typo_variants(word)
  local seen, exact, affixes = {[word] = true}, {}, {}
  local function add(variant, list)
    if not seen[variant] then
      seen[variant] = true
      list[#list + 1] = variant
    end
  end
  local n = #word
  for i = 1, n do add(sub(word, 1, i - 1) .. sub(word, i + 1), exact) end
  for i = 1, n - 1 do
    add(sub(word, 1, i - 1) .. sub(word, i + 1, i + 1) .. sub(word, i, i) .. sub(word, i + 2), exact)
  end
  add(sub(word, 1, 4) .. '~', affixes)
  add('~' .. sub(word, -4), affixes)
  return exact, affixes
end
local weight, typo_weight, tokens = {}, {}, {}
local function ask(token, table_)
  if weight[token] == nil and typo_weight[token] == nil then tokens[#tokens + 1] = token end
  table_[token] = (table_[token] or 0) + 1
end
local skip_names = (ARGV[13] == '1' and #d_pos > 0) or max_candidates <= 0
local first_word = 15 + tonumber(ARGV[14])
if not skip_names then
  for i = 15, first_word - 1 do ask(ARGV[i], weight) end
  local words = {}
  for i = first_word, #ARGV do
    if not find(ARGV[i], '[\\128-\\255]') then words[#words + 1] = ARGV[i] end
  end
  sizes(words)
  local unknown, all = {}, {}
  for _, word in ipairs(words) do
    if size_of[word] == 0 then
      local exact, affixes = typo_variants(word)
      unknown[#unknown + 1] = {exact, affixes}
      for _, variant in ipairs(exact) do all[#all + 1] = variant end
    end
  end
  sizes(all)
  for _, variants in ipairs(unknown) do
    local found = {}
    for _, variant in ipairs(variants[1]) do
      if size_of[variant] > 0 then found[#found + 1] = variant end
    end
    if #found == 0 then found = variants[2] end
    for _, variant in ipairs(found) do ask(variant, typo_weight) end
  end
end
local count, distinct = {}, {}
if #tokens > 0 then
  sizes(tokens)
  for _, token in ipairs(tokens) do
    local size = size_of[token]
    local w = 0
    if size > 0 and size <= max_posting then w = w + (weight[token] or 0) end
    if size > 0 and size <= max_typo_posting then w = w + (typo_weight[token] or 0) end
    if w > 0 then
      for id in string.gmatch(redis.call('GET', X .. 'token:' .. token), '[^\\n]+') do
        local c = count[id]
        if c then
          count[id] = c + w
        else
          count[id] = w
          distinct[#distinct + 1] = id
        end
      end
    end
  end
end
-- A token busier than max_posting finds no account itself, but counts for the accounts
-- the other tokens found (when they are no more than max_busy_pool), from their words.
if #distinct > 0 and #distinct <= max_busy_pool then
  local busy = {}
  for _, token in ipairs(tokens) do
    if weight[token] and size_of[token] > max_posting then busy[#busy + 1] = token end
  end
  if #busy > 0 then
    for i, words in ipairs(hmget(P .. 'w', distinct)) do
      if words then
        local id = distinct[i]
        for _, token in ipairs(busy) do
          if find(words, ' ' .. token .. ' ', 1, true) then count[id] = count[id] + weight[token] end
        end
      end
    end
  end
end

-- the best max_candidates: every account above the K-th best count, by count then id,
-- then the smallest ids among those at that count (found without sorting them all)
local ranked = {}
if #distinct > 0 then
  local histogram, top = {}, 0
  for _, id in ipairs(distinct) do
    local c = count[id]
    histogram[c] = (histogram[c] or 0) + 1
    if c > top then top = c end
  end
  local kth, above = 0, 0
  for c = top, 1, -1 do
    local n = histogram[c] or 0
    if above + n >= max_candidates then
      kth = c
      break
    end
    above = above + n
  end
  local higher, tied, need = {}, {}, max_candidates - above
  for _, id in ipairs(distinct) do
    local c = count[id]
    if c > kth then
      higher[#higher + 1] = id
    elseif c == kth and kth > 0 then
      -- keep the `need` smallest ids, in order; most lose to the largest kept at once
      local n = #tied
      if n < need or less(id, tied[n]) then
        local at = n < need and n or n - 1
        while at >= 1 and less(id, tied[at]) do
          tied[at + 1] = tied[at]
          at = at - 1
        end
        tied[at + 1] = id
      end
    end
  end
  table.sort(higher, function(a, b)
    local ca, cb = count[a], count[b]
    if ca ~= cb then return ca > cb end
    return less(a, b)
  end)
  for _, id in ipairs(higher) do ranked[#ranked + 1] = id end
  for _, id in ipairs(tied) do ranked[#ranked + 1] = id end
end

fetch(ranked)
local t_pos = positions(ranked)

-- related: a person's account, a candidate's parent; then the parent of each of those
for _, at in ipairs(d_pos) do wanted[#wanted + 1] = parents[order[at + 1]] end
for _, at in ipairs(t_pos) do wanted[#wanted + 1] = parents[order[at + 1]] end
local first = {}
for _, id in ipairs(wanted) do
  if id ~= '' then first[#first + 1] = id end
end
fetch(first)
local related, seen = {}, {}
for _, id in ipairs(first) do
  local at = position[id]
  if at and not seen[id] then
    seen[id] = true
    related[#related + 1] = at
  end
end
local second = {}
for _, at in ipairs(related) do
  local parent = parents[order[at + 1]]
  if parent ~= '' then second[#second + 1] = parent end
end
fetch(second)
for _, id in ipairs(second) do
  local at = position[id]
  if at and not seen[id] then
    seen[id] = true
    related[#related + 1] = at
  end
end

-- contact counts and open opportunities of every account involved, from the summaries
local counts, listed, opportunity_ids = {}, {}, {}
for i, summary in ipairs(hmget(S, order)) do
  local contacts, n = 0, 0
  if summary then
    local at = find(summary, '\\n', 1, true)
    if at then
      contacts = sub(summary, 1, at - 1)
      for _, id in ipairs(cjson.decode(sub(summary, at + 1))) do
        opportunity_ids[#opportunity_ids + 1] = id
        n = n + 1
      end
    else
      contacts = summary
    end
  end
  counts[i] = contacts
  listed[i] = n
end
local opportunity_values = hmget(RO, opportunity_ids)
local opportunities, j = {}, 0
for i = 1, #order do
  local found = 0
  for _ = 1, listed[i] do
    j = j + 1
    local value = opportunity_values[j]
    if value then
      out[#out + 1] = value
      found = found + 1
    end
  end
  opportunities[i] = found
end

local function ints(list)
  return '[' .. table.concat(list, ',') .. ']'
end
local header = '[' .. by_email .. ',' .. by_phone .. ',' .. by_name .. ',' .. #order
  .. ',' .. ints(d_pos) .. ',' .. ints(t_pos) .. ',' .. ints(related)
  .. ',' .. ints(counts) .. ',' .. ints(opportunities) .. ']'
if #out == 0 then return header end
return header .. '\\n' .. table.concat(out, '\\n')
"""
)

Change = tuple[RecordKind, str, Any | None]
_T = TypeVar("_T")

#: Index families whose postings nearly always have one member: kept as JSON arrays in
#: fields of bucket hashes rather than a key each (~60 instead of ~150 bytes apiece).
BUCKETED_FAMILIES = frozenset({"email", "phone", "pname", "domain"})
#: Buckets per family: a layout constant every reader and writer of a prefix must share.
#: 65,536 keeps a bucket packed (under 512 fields) up to ~30M postings per family.
DEFAULT_BUCKETS = 65_536

#: Look-ups sent ahead of the reply being decoded (measured best between 5 and 20).
_IN_FLIGHT = 10

_ATTEMPTS = 3
#: Compare-and-set rounds before giving up on records that keep changing under us.
_MAX_CONFLICT_ROUNDS = 20
_READ_CHUNK = 1000


def encode_record(kind: RecordKind, record: Any) -> str:
    """The stored form: JSON array of the model's fields (+ extras object), newline, link."""
    fields = FIELDS[kind]
    values = [record.get(name) for name in fields]
    extras = {key: value for key, value in record.items() if key not in fields}
    if extras:
        values.append(extras)
    link_field = _LINK_FIELD[kind]
    link = (record.get(link_field) or "") if link_field else ""
    if "\n" in link:
        link = ""  # not followable; keeps one newline per stored value
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False) + "\n" + link


def _loads(data: bytes) -> Any:
    """orjson parses a reply about twice as fast; the standard parser reads what it refuses."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # NaN, integers beyond 64 bits
        return json.loads(data)


def _from_values(fields: tuple[str, ...], values: list[Any]) -> Any:
    record: dict[str, Any] = dict(zip(fields, values))  # noqa: B905 - extras follow the fields
    if len(values) > len(fields):
        record.update(values[-1])
    return record


def decode_record(kind: RecordKind, stored: bytes | str) -> Any:
    """The record a stored value holds (inverse of :func:`encode_record`)."""
    body = stored.partition(b"\n" if isinstance(stored, bytes) else "\n")[0]
    return _from_values(FIELDS[kind], json.loads(body))


_ACCOUNT_FIELDS = FIELDS["account"]
_PERSON_FIELDS = FIELDS["contact"]
_OPPORTUNITY_FIELDS = FIELDS["opportunity"]


def _decode_candidates(raw: bytes | str) -> Candidates:
    """One look-up reply (see CANDIDATES) as :class:`Candidates`."""
    if isinstance(raw, str):
        raw = raw.encode()
    lines = raw.split(b"\n")
    by_email, by_phone, by_name, account_count, by_domain, by_tokens, related, counts, listed = _loads(
        lines[0]
    )
    values = _loads(b"[" + b",".join(lines[1::2]) + b"]")
    people = [_from_values(_PERSON_FIELDS, v) for v in values[: by_email + by_phone + by_name]]
    start = by_email + by_phone + by_name
    accounts = [_from_values(_ACCOUNT_FIELDS, v) for v in values[start : start + account_count]]
    ids = [account["id"] for account in accounts]
    opportunities: dict[str, list[Opportunity]] = {}
    at = start + account_count
    for account_id, n in zip(ids, listed, strict=True):
        if n:
            opportunities[account_id] = [_from_values(_OPPORTUNITY_FIELDS, v) for v in values[at : at + n]]
            at += n
    return Candidates(
        people_by_email=people[:by_email],
        people_by_phone=people[by_email : by_email + by_phone],
        people_by_name=people[by_email + by_phone :],
        accounts_by_domain=[accounts[i] for i in by_domain],
        accounts_by_name=[accounts[i] for i in by_tokens],
        related_accounts={ids[i]: accounts[i] for i in related},
        contact_counts=dict(zip(ids, counts, strict=True)),
        open_opportunities=opportunities,
    )


class RedisCrmMirror:
    """Both sides of the CRM mirror protocol (:class:`~processors.ports.CrmMirror`, ``CrmMirrorWriter``)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_posting: int = DEFAULT_MAX_POSTING,
        max_typo_posting: int = DEFAULT_MAX_TYPO_POSTING,
        max_busy_pool: int = DEFAULT_MAX_BUSY_POOL,
        buckets: int = DEFAULT_BUCKETS,
        reader: redis.Redis | None = None,
    ) -> None:
        """``reader``, when given, serves look-ups (a replica: the look-up script is read-only)."""
        self._client = client
        self._reader = reader or client
        self.buckets = buckets
        self.prefix = prefix
        self.max_candidates = max_candidates
        self.max_posting = max_posting
        self.max_typo_posting = max_typo_posting
        self.max_busy_pool = max_busy_pool
        self._base = f"{prefix}:{{crm}}:"
        self._summaries = self._base + "s"
        self._apply = client.register_script(APPLY_CHANGE)
        self._lookup = self._reader.register_script(CANDIDATES)
        self._lookup_sha: str | None = None  # loaded on first use, again after a NOSCRIPT

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisCrmMirror:
        client = redis_client(settings, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix=settings.redis_prefix, max_candidates=settings.match_name_candidates)

    def records_key(self, kind: RecordKind) -> str:
        """The hash holding every record of ``kind``, by id."""
        return f"{self._base}r:{KIND_CODES[kind]}"

    def index_key(self, index_key: str) -> str:
        return f"{self._base}x:{index_key}"

    def summaries_key(self) -> str:
        return self._summaries

    def bucket(self, value: str) -> str:
        """The bucket (hex) of a value in a bucketed family."""
        return format(zlib.crc32(value.encode()) % self.buckets, "x")

    def bucket_key(self, family: str, value: str) -> str:
        return f"{self._base}b:{family}:{self.bucket(value)}"

    # -- write side -------------------------------------------------------

    def upsert(self, kind: RecordKind, record: Any) -> None:
        self.upsert_many([(kind, record["id"], record)])

    def delete(self, kind: RecordKind, record_id: str) -> None:
        self.upsert_many([(kind, record_id, None)])

    def upsert_many(self, changes: Sequence[Change]) -> None:
        """Apply changes (record ``None`` deletes) in two pipelined round trips.

        Only the last change of a record in the batch is applied: the mirror holds
        the latest version, which is what applying them all in order would leave.
        """
        latest: dict[tuple[RecordKind, str], Any | None] = {}
        for kind, record_id, record in changes:
            latest.pop((kind, record_id), None)  # keep batch order of last changes
            latest[(kind, record_id)] = prepared(kind, record) if record is not None else None
        pending = list(latest.items())
        for _ in range(_MAX_CONFLICT_ROUNDS):
            if not pending:
                return
            pending = self._retrying(lambda todo=pending: self._apply_round(todo))
        raise DependencyUnavailable(
            f"{len(pending)} CRM records kept changing while being written; is another writer on them?"
        )

    def _read(self, wanted: list[tuple[RecordKind, str]]) -> list[Any]:
        """Stored values of (kind, id) records, in order, in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for start in range(0, len(wanted), _READ_CHUNK):
            for kind in RECORD_KINDS:
                ids = [record_id for k, record_id in wanted[start : start + _READ_CHUNK] if k == kind]
                if ids:
                    pipe.hmget(self.records_key(kind), ids)
        replies = iter(pipe.execute())
        stored: list[Any] = []
        for start in range(0, len(wanted), _READ_CHUNK):
            chunk = wanted[start : start + _READ_CHUNK]
            by_kind = {kind: iter(next(replies)) for kind in RECORD_KINDS if any(k == kind for k, _ in chunk)}
            stored.extend(next(by_kind[kind]) for kind, _ in chunk)
        return stored

    def _apply_round(
        self, pending: list[tuple[tuple[RecordKind, str], Any | None]]
    ) -> list[tuple[tuple[RecordKind, str], Any | None]]:
        """One read + one compare-and-set pass; returns the changes that lost a race."""
        stored = self._read([key for key, _ in pending])
        pipe = self._client.pipeline(transaction=False)
        for ((kind, record_id), record), old in zip(pending, stored, strict=True):
            before = index_entries(kind, decode_record(kind, old)) if old is not None else frozenset()
            after = index_entries(kind, record) if record is not None else frozenset()
            postings: tuple[list[str], list[str]] = ([], [])
            bucketed: tuple[list[str], list[str]] = ([], [])
            for added, entries in enumerate((before - after, after - before)):
                for index_key, member in entries:
                    family, _, value = index_key.partition(":")
                    if family in BUCKETED_FAMILIES:
                        bucketed[added].extend((f"{family}:{self.bucket(value)}", value, member))
                    elif family == "token" and "\n" in member:
                        continue  # a packed posting cannot hold it (CRM ids never have one)
                    else:
                        postings[added].extend((index_key, member))
            args = [
                self._base,
                record_id,
                old if old is not None else "",
                encode_record(kind, record) if record is not None else "",
                len(postings[0]) // 2,
                len(postings[1]) // 2,
                len(bucketed[0]) // 3,
                *postings[0],
                *postings[1],
                *bucketed[0],
                *bucketed[1],
            ]
            self._apply(keys=[self.records_key(kind), self._summaries], args=args, client=pipe)
        results = pipe.execute()
        return [change for change, applied in zip(pending, results, strict=True) if not applied]

    # -- read side --------------------------------------------------------

    def _lookup_args(self, query: MatchQuery) -> list[Any]:
        args: list[Any] = [
            self._base,
            self.max_candidates,
            self.max_posting,
            f"{self.max_typo_posting}:{self.max_busy_pool}",
        ]
        for value in (query.email_key, query.phone, query.person_name_key, query.domain):
            if value:
                args += (value, self.bucket(value))
            else:
                args += ("", "")
        args += ("1" if query.names_only_without_domain else "", len(query.name_tokens), *query.name_tokens)
        args += query.typo_words
        return args

    def candidates(self, query: MatchQuery) -> Candidates:
        """Everything for one lead in one round trip."""
        keys = [self.records_key("account")]
        raw = self._retrying(lambda: self._lookup(keys=keys, args=self._lookup_args(query)))
        return _decode_candidates(raw)

    def candidates_many(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        """A batch of look-ups pipelined in one round trip."""
        if not queries:
            return []
        try:
            return self._retrying(lambda: self._stream_lookups(queries))
        except redis.exceptions.NoScriptError:  # the server lost its script cache (restart, flush)
            self._lookup_sha = None
            return self._retrying(lambda: self._stream_lookups(queries))

    def iter_candidates(self, queries: Sequence[MatchQuery]) -> Iterator[Candidates]:
        """The batch's answers one by one as Redis replies, so the caller decides lead i
        while Redis still computes the next ones (``candidates_many`` waits for them all).

        Redis being unreachable raises ``DependencyUnavailable``; nothing is retried
        once an answer has been handed out.
        """
        handed = 0
        try:
            try:
                for found in self._iter_lookups(queries):
                    handed += 1
                    yield found
            except redis.exceptions.NoScriptError:  # the server lost its script cache
                if handed:
                    raise
                self._lookup_sha = None
                yield from self._iter_lookups(queries)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DependencyUnavailable(f"Redis is unreachable: {error}") from error

    def _stream_lookups(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        return list(self._iter_lookups(queries))

    def _iter_lookups(self, queries: Sequence[MatchQuery]) -> Iterator[Candidates]:
        """Send the batch a few leads ahead of the replies, decoding each reply as it comes.

        A pipeline would send everything and read every reply before the first
        is decoded, so Python and Redis take turns. Keeping one small chunk in
        flight lets Python decode lead i while Redis computes the next ones:
        ~1.5x the rate of a pipeline (see streams/bench/crm_memory.py).
        """
        if not queries:
            return
        if self._lookup_sha is None:
            self._lookup_sha = _text(self._reader.script_load(CANDIDATES))
        key = self.records_key("account")
        commands = [("EVALSHA", self._lookup_sha, 1, key, *self._lookup_args(q)) for q in queries]
        chunks = [commands[i : i + _IN_FLIGHT] for i in range(0, len(commands), _IN_FLIGHT)]
        pool = connection_pool_for(self._reader, key)
        connection = pool.get_connection()
        failure: redis.ResponseError | None = None
        try:
            connection.send_packed_command(connection.pack_commands(chunks[0]))
            for number, chunk in enumerate(chunks):
                if number + 1 < len(chunks):
                    connection.send_packed_command(connection.pack_commands(chunks[number + 1]))
                for _ in chunk:
                    try:
                        raw = connection.read_response()
                    except redis.ResponseError as error:  # read on, so the connection stays in step
                        failure = failure or error
                        continue
                    if failure is None:
                        yield _decode_candidates(raw)
        except BaseException:  # an error, or the caller stopped early: replies may be unread
            connection.disconnect()
            raise
        finally:
            pool.release(connection)
        if failure is not None:
            raise failure

    # -- housekeeping -----------------------------------------------------

    def sizes(self) -> dict[str, int]:
        """Records per kind, for the mirror-size gauge."""

        def run() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for kind in RECORD_KINDS:
                pipe.hlen(self.records_key(kind))
            return pipe.execute()

        return dict(zip(RECORD_KINDS, map(int, self._retrying(run)), strict=True))

    def keys(self) -> Iterable[bytes | str]:
        """Every key of this mirror (SCAN; for tests and measurements)."""
        return self._client.scan_iter(match=f"{_glob_escape(self._base)}*", count=1000)

    def forget_prefix(self) -> int:
        """Delete every key of this mirror (``{prefix}:{crm}:*``); other state under the prefix stays."""
        removed = 0
        batch: list[bytes | str] = []
        for key in self.keys():
            batch.append(key)
            if len(batch) >= 1000:
                removed += self._client.unlink(*batch)
                batch.clear()
        if batch:
            removed += self._client.unlink(*batch)
        return removed

    def _retrying(self, call: Callable[[], _T]) -> _T:
        """Retry briefly on connection trouble (every call is safe to repeat); then stop the stage."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return call()
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if attempt == _ATTEMPTS:
                    raise DependencyUnavailable(f"Redis is unreachable: {error}") from error
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)

-- Decides a chunk of leads in one atomic step, each exactly as the in-memory ledger would,
-- lead after lead (the layout and why chunks: streams/adapters/redis_ledger.py).
-- KEYS: the owners' counters hash (<prefix>:{assign}:s).
-- ARGV: the key base (<prefix>:{assign}:), the decision TTL in seconds, the chunk as one
-- JSON text (redis_ledger.encode_chunk), then each lead's meta as a JSON string.
-- Returns per lead, in order: 1 and the stored decision for a replay, 0 and the new
-- decision without its meta, or 2 and "<identity>\t<record>" for a lead left undecided because
-- it repeats a lead recorded after it was planned (see processors/routing/duplicates.py).

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
local idents, idents_new, idents_order = {}, {}, {}  -- identity → "<lead>|<owner>|<ms>" (false: none)

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
    -- Members not weighed yet in their day (new to the pool, or their day just began) start
    -- level with the least loaded of those weighed, minus the credit; the offset's day marks it.
    local known = nil
    for _, j in ipairs(eligible) do
      local id = cands[j][1]
      loads[j] = load(cands[j], owners[id], balance_by, m[id])
      if m[id].fb == cands[j][7] and (known == nil or loads[j] < known) then known = loads[j] end
    end
    for _, j in ipairs(eligible) do
      local c = cands[j]
      local r = m[c[1]]
      if r.fb ~= c[7] then
        r.fb, r.f = c[7], 0
        if known ~= nil and loads[j] < known - credit then
          r.f = known - credit - loads[j]
          loads[j] = known - credit
        end
        touch(p, c[1])
      end
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
  if #skips > 0 then return cjson.encode({a = placed, o = winner_id, s = skips, k = k}), winner_id end
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
  return head, winner_id
end

local function lead_of(record) return match(record, '^(.*)|[^|]*|[^|]*$') end

-- The strongest identity of req held by another lead: identity and record, or nil.
local function held_by_other(req)
  for _, key in ipairs(req[7]) do
    local v = idents[key]
    if v and lead_of(v) ~= req[1] then return key, v end
  end
  return nil
end

-- A first lead records itself under each identity not held; a duplicate lends the first lead's
-- record to the identities only it has, so a lead sharing just those finds the first.
local function record_identities(req, winner_id, found)
  local record
  if req[8] == '' then
    record = req[1] .. '|' .. winner_id .. '|' .. fmt('%d', req[10])
  elseif found then
    record = found
  else
    return
  end
  for _, key in ipairs(req[7]) do
    if not idents[key] then
      idents[key] = record
      if not idents_new[key] then idents_order[#idents_order + 1] = key end
      idents_new[key] = req[9]
    end
  end
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
-- the identities of new leads: who was routed first with each
local ident_keys, ident_names = {}, {}
for i = 1, #requests do
  if not stored[i] then
    for _, key in ipairs(requests[i][7]) do
      if idents[key] == nil then
        idents[key] = false
        ident_keys[#ident_keys + 1] = key
        ident_names[#ident_names + 1] = B .. 'i:' .. key
      end
    end
  end
end
if #ident_names > 0 then
  local found = call('MGET', unpack(ident_names))
  for x = 1, #ident_keys do idents[ident_keys[x]] = found[x] end
end
local out = {}
for i = 1, #requests do
  local lead = requests[i][1]
  local earlier = decided[lead] or stored[i]
  if earlier then
    out[#out + 1] = 1
    out[#out + 1] = earlier
  else
    local req = requests[i]
    local key, found = nil, nil
    if #req[7] > 0 then key, found = held_by_other(req) end
    if found and lead_of(found) ~= req[8] then
      out[#out + 1] = 2
      out[#out + 1] = key .. '\t' .. found
    else
      local head, winner_id = decide(req)
      local decision = sub(head, 1, -2) .. ',"m":' .. ARGV[3 + i] .. '}'
      decided[lead] = decision
      decisions[#decisions + 1] = keys[i]
      decisions[#decisions + 1] = decision
      if #req[7] > 0 and req[9] > 0 then record_identities(req, winner_id, found) end
      out[#out + 1] = 0
      out[#out + 1] = head
    end
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
for _, key in ipairs(idents_order) do call('SET', B .. 'i:' .. key, idents[key], 'EX', idents_new[key]) end
return out

-- Everything the matcher needs for one lead, read server-side in one call. Never writes,
-- so it runs with flags=no-writes and may run on a replica. Runs after bytewise_order.lua
-- (lt, less).
-- KEYS: the account hash (declares the slot).
-- ARGV: key prefix, max candidates, max posting, "<max typo posting>:<max busy pool>", then
-- email key, phone, person name key and domain ("" = not asked), each followed by its
-- bucket; "1" to skip name candidates when the domain found an account; the number of name
-- tokens and the tokens; then the typo words.
-- Returns a header line, then the stored values (record, newline, link) joined by
-- newlines, in this order: people by email, by phone, by name; every account involved,
-- once; the open opportunities of each of those accounts. Header: [people by email, by
-- phone, by name, accounts, [by-domain positions], [by-name positions], [related
-- positions], [contact count per account], [open opportunities per account]]; positions
-- index the accounts.

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
        local link = sub(value, find(value, '\n', 1, true) + 1)
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
      parents[id] = sub(value, find(value, '\n', 1, true) + 1)
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
    if not find(ARGV[i], '[\128-\255]') then words[#words + 1] = ARGV[i] end
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
      for id in string.gmatch(redis.call('GET', X .. 'token:' .. token), '[^\n]+') do
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
    local at = find(summary, '\n', 1, true)
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
return header .. '\n' .. table.concat(out, '\n')

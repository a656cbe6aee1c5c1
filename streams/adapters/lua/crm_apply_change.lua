-- Applies one CRM record's change if the stored version is still the one the caller read,
-- then rebuilds the summary of every account whose people or opportunities changed.
-- Runs after bytewise_order.lua (lt).
-- KEYS: the kind's record hash, the summaries hash.
-- ARGV: key prefix, record id, expected ("" = absent), new ("" = delete), then how many
-- posting removals, posting additions and bucket removals follow; then (index key, member)
-- pairs for postings, removals first; then (bucket, field, member) triples for buckets,
-- removals first.
-- Returns 1 if applied, 0 on a conflict.

local SMALL_POSTING = 512

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
-- a name-token posting is one string, "\n<id>\n<id>\n", its size in the token-sizes hash;
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
  local packed = '\n' .. member .. '\n'
  if add then
    -- The write path only adds what the stored record did not own, so a member is new;
    -- small postings are still checked, so an add is never doubled, and rewritten whole
    -- (APPEND would reserve as much again as the string holds); big ones are appended to.
    if size == 0 then
      redis.call('SET', key, packed)
    elseif size > SMALL_POSTING then
      redis.call('APPEND', key, member .. '\n')
    else
      local stored = redis.call('GET', key)
      if string.find(stored, packed, 1, true) then return end
      redis.call('SET', key, stored .. member .. '\n')
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
    redis.call('HSET', KEYS[2], account_id, people .. '\n' .. cjson.encode(opportunities))
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

-- Marks a keyspace ready only while this rebuild still holds the claim, so a second wipe
-- during the rebuild makes it start over instead of vouching for missing data.
-- KEYS: the marker. ARGV: the rebuilding token, the ready value to store.
-- Returns 1 if marked ready, 0 if the claim was lost.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0

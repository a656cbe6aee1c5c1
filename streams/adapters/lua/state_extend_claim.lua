-- Extends a rebuild's claim on a state marker only while this process still holds it,
-- so a claim lost to a wiped Redis is noticed rather than revived.
-- KEYS: the marker. ARGV: the rebuilding token, the TTL in seconds.
-- Returns 1 if extended, 0 if the claim was lost.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0

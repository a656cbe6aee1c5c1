-- Prelude of the CRM mirror's scripts, prepended to them (no KEYS, no ARGV): bytewise
-- string order whatever the server's collation. Python sorts str by code point, which is
-- UTF-8 byte order; Lua's "<" follows the server's LC_COLLATE, so it is used only when
-- that is bytewise (lt == nil), else a byte-by-byte compare. Defines lt (for table.sort)
-- and less(a, b).

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

-- kit stream: a cursor select, exact at any depth of equal scores.
--
-- For each key K of KEYS, returns the visible members of K.."+" strictly
-- after the start position and strictly before the stop position, in
-- (score desc, member desc) order, at most `limit` of them, as a flat
-- array of member, score pairs in ascending order (the caller reverses).
--
-- ARGV: limit, then has_start ("1"/"0"), start score, start member, then
-- has_stop, stop score, stop member. A missing start is the top, a
-- missing stop the bottom.
--
-- Ranks are found with ZCOUNT and a binary search through the run of
-- entries at the cursor's score, so a page costs O(log n) commands however
-- many members share that score.

local limit = tonumber(ARGV[1])
local has_start, start_score, start_member = ARGV[2] == "1", ARGV[3], ARGV[4]
local has_stop, stop_score, stop_member = ARGV[5] == "1", ARGV[6], ARGV[7]

local function bytes_lt(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The ascending rank of the first entry at or above (s, m), or strictly
-- above it when `strict`.
local function rank(z, s, m, strict)
  local lo = redis.call("ZCOUNT", z, "-inf", "(" .. s)
  local hi = lo + redis.call("ZCOUNT", z, s, s)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local e = redis.call("ZRANGE", z, mid, mid)[1]
    local right
    if strict then right = not bytes_lt(m, e) else right = bytes_lt(e, m) end
    if right then lo = mid + 1 else hi = mid end
  end
  return lo
end

local out = {}
for i, raw in ipairs(KEYS) do
  local z = raw .. "+"
  local upper = has_start and rank(z, start_score, start_member, false)
    or redis.call("ZCARD", z)
  local lower = has_stop and rank(z, stop_score, stop_member, true) or 0
  local from = math.max(lower, upper - limit)
  if limit > 0 and from < upper then
    out[i] = redis.call("ZRANGE", z, from, upper - 1, "WITHSCORES")
  else
    out[i] = {}
  end
end
return out

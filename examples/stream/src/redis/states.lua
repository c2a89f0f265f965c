-- kit stream: read the states of members (or of every member) of keys,
-- atomically per call, for read repair and the walker.
--
-- KEYS: raw keys. ARGV: for each key in order, a count n then n members;
-- n = -1 means every member of the key.
-- Returns, per key, a flat array: the watermark's member and score (two
-- empty strings when there is none), then (member, score, "+" or "-") for
-- every member asked for that has a state.

local out = {}
local a = 1
for i, raw in ipairs(KEYS) do
  local add, rem = raw .. "+", raw .. "-"
  local r = {}
  local w = redis.call("ZRANGE", raw .. "~", 0, 0, "WITHSCORES")
  if #w == 2 then
    r[1], r[2] = w[1], w[2]
  else
    r[1], r[2] = "", ""
  end
  local n = tonumber(ARGV[a])
  a = a + 1
  if n < 0 then
    for _, set in ipairs({ { add, "+" }, { rem, "-" } }) do
      local all = redis.call("ZRANGE", set[1], 0, -1, "WITHSCORES")
      for j = 1, #all, 2 do
        r[#r + 1] = all[j]
        r[#r + 1] = all[j + 1]
        r[#r + 1] = set[2]
      end
    end
  else
    for j = a, a + n - 1 do
      local m = ARGV[j]
      local s = redis.call("ZSCORE", add, m)
      local kind = "+"
      if not s then
        s = redis.call("ZSCORE", rem, m)
        kind = "-"
      end
      if s then
        r[#r + 1] = m
        r[#r + 1] = s
        r[#r + 1] = kind
      end
    end
    a = a + n
  end
  out[i] = r
end
return out

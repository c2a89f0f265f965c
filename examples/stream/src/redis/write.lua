-- kit stream: apply writes to per-key LWW-element-sets, by the core's rules
-- (src/crdt): a write applies when (score, kind) is above the member's
-- state, deletes above inserts at equal scores; each key keeps at most
-- max_size entries (adds and tombstones together); the lowest entry is
-- evicted and its position becomes the key's watermark; writes at or
-- below the watermark are ignored.
--
-- Layout of key K: K.."+" adds and K.."-" tombstones (sorted sets, score =
-- the event's score), K.."~" the watermark (a sorted set of at most one
-- entry: the evicted member at its score).
--
-- KEYS: the batch's distinct raw keys.
-- ARGV[1]: max_size. Then four values per operation: the key's index in
-- KEYS, the operation ("+" insert, "-" delete, "~" raise the watermark),
-- the score (exactly as Redis parses it), the member.
-- Returns one character per operation: "1" took effect, "0" did not.
--
-- Scores go to Redis as the strings they came as: Lua numbers print with
-- 14 digits. Members compare bytewise by hand: Lua's string "<" follows
-- the server's locale.

local max_size = tonumber(ARGV[1])

local function bytes_lt(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Position (as, am) strictly below (bs, bm): by score, then member bytes.
local function below(as, am, bs, bm)
  if as ~= bs then return as < bs end
  return bytes_lt(am, bm)
end

local keys = {}

local function key_state(i)
  local k = keys[i]
  if k then return k end
  local raw = KEYS[i]
  k = { add = raw .. "+", rem = raw .. "-", wm = raw .. "~" }
  local adds, rems = redis.call("ZCARD", k.add), redis.call("ZCARD", k.rem)
  k.n = adds + rems
  -- Whether a set was empty when read. A write of its kind clears the flag
  -- before it runs (see the loop below), so a flag still set proves that
  -- no member is in that set, and the lookup there can be skipped: an
  -- insert into a key without tombstones is one command, not two.
  k.no_adds, k.no_rems = adds == 0, rems == 0
  local w = redis.call("ZRANGE", k.wm, 0, 0, "WITHSCORES")
  if #w == 2 then
    k.wm_member, k.wm_score = w[1], tonumber(w[2])
  end
  keys[i] = k
  return k
end

local function at_or_below_watermark(k, s, m)
  return k.wm_score ~= nil and not below(k.wm_score, k.wm_member, s, m)
end

local function set_watermark(k, score_str, m)
  redis.call("DEL", k.wm)
  redis.call("ZADD", k.wm, score_str, m)
  k.wm_member, k.wm_score = m, tonumber(score_str)
end

-- Evicts the lowest entry of the two sets while the key is over its bound.
local function enforce_bound(k)
  while k.n > max_size do
    local a = redis.call("ZRANGE", k.add, 0, 0, "WITHSCORES")
    local r = redis.call("ZRANGE", k.rem, 0, 0, "WITHSCORES")
    local set, low = k.add, a
    if #a == 0 or (#r == 2 and below(tonumber(r[2]), r[1], tonumber(a[2]), a[1])) then
      set, low = k.rem, r
    end
    if #low == 0 then return end
    redis.call("ZREM", set, low[1])
    k.n = k.n - 1
    set_watermark(k, low[2], low[1])
  end
end

-- The write when the key cannot outgrow its bound in this call: two
-- commands, one when the other set is known to be empty. ZADD GT applies
-- only a strictly higher score (or a new member), which is the rule
-- within one set; the other set is checked first.
local function write_unbounded(k, is_delete, score_str, s, m)
  local target, other, other_empty = k.add, k.rem, k.no_rems
  if is_delete then target, other, other_empty = k.rem, k.add, k.no_adds end
  local o = false
  if not other_empty then o = redis.call("ZSCORE", other, m) end
  if o then
    local cur = tonumber(o)
    -- An insert must beat a tombstone strictly; a delete beats an add at
    -- equal scores.
    if s < cur or (s == cur and not is_delete) then return "0" end
    redis.call("ZREM", other, m)
    redis.call("ZADD", target, score_str, m)
    return "1"
  end
  if redis.call("ZADD", target, "GT", "CH", score_str, m) == 1 then return "1" end
  return "0"
end

local function write(k, is_delete, score_str, m)
  local s = tonumber(score_str)
  if at_or_below_watermark(k, s, m) then return "0" end
  if k.n + k.left <= max_size then
    return write_unbounded(k, is_delete, score_str, s, m)
  end
  local added = redis.call("ZSCORE", k.add, m)
  local removed = false
  if not added then removed = redis.call("ZSCORE", k.rem, m) end
  local target, other = k.add, k.rem
  if is_delete then target, other = k.rem, k.add end
  if added or removed then
    local cur = tonumber(added or removed)
    -- (s, kind) must be above (cur, current kind); Delete > Insert.
    local above = s > cur or (s == cur and is_delete and added)
    if not above then return "0" end
    if (added and is_delete) or (removed and not is_delete) then
      redis.call("ZREM", other, m)
    end
  else
    k.n = k.n + 1
  end
  redis.call("ZADD", target, score_str, m)
  enforce_bound(k)
  if at_or_below_watermark(k, s, m) then return "0" end
  return "1"
end

-- Removes every entry of `set` at or below (s, m).
local function drop_at_or_below(k, set, score_str, s, m)
  local n = redis.call("ZREMRANGEBYSCORE", set, "-inf", "(" .. score_str)
  local ties = redis.call("ZRANGEBYSCORE", set, score_str, score_str)
  for _, e in ipairs(ties) do
    if not bytes_lt(m, e) then
      n = n + redis.call("ZREM", set, e)
    end
  end
  k.n = k.n - n
end

local function raise_watermark(k, score_str, m)
  local s = tonumber(score_str)
  if at_or_below_watermark(k, s, m) then return "0" end
  drop_at_or_below(k, k.add, score_str, s, m)
  drop_at_or_below(k, k.rem, score_str, s, m)
  set_watermark(k, score_str, m)
  return "1"
end

-- How many writes each key has in this call: while the key's count plus
-- the writes it has left stays within the bound, no write can evict, and
-- the count need not be kept.
local pending = {}
for i = 2, #ARGV, 4 do
  local j = tonumber(ARGV[i])
  if ARGV[i + 1] ~= "~" then pending[j] = (pending[j] or 0) + 1 end
end

local out = {}
for i = 2, #ARGV, 4 do
  local j = tonumber(ARGV[i])
  local k = key_state(j)
  k.left = pending[j]
  local op, score_str, m = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if op ~= "~" then pending[j] = pending[j] - 1 end
  if op == "+" then k.no_adds = false elseif op == "-" then k.no_rems = false end
  if op == "~" then
    out[#out + 1] = raise_watermark(k, score_str, m)
  else
    out[#out + 1] = write(k, op == "-", score_str, m)
  end
end
return table.concat(out)

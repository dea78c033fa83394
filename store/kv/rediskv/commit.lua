-- commit.lua: one optimistic transaction of kv/rediskv, applied atomically.
--
-- KEYS are every key the transaction touches (all under one hash tag, so
-- one slot). ARGV is a flat list of operations that name keys by their index
-- in KEYS. Guards come first: when any read the transaction made is no
-- longer true, nothing is written and the answer is "CONFLICT". Otherwise
-- every write is applied and the answer is "OK".
--
-- Guards:
--   e  hash field present expected   HGET equals expected (present "1"), or the field is absent (present "0")
--   h  hash field present sha1       as e, comparing the SHA-1 of the value (for large values)
--   r  zset hash from to size rev sha1   the page of a walk (as range.lua reads it) is unchanged:
--                                    no key joined, left or changed value within what the walk saw
-- Writes:
--   p  zset hash k v                 put: HSET; a new key joins the bucket's order (ZADD)
--   d  zset hash k                   delete: HDEL and ZREM
--   s  seqs path n                   the bucket's sequence is n
--   c  buckets path                  create the bucket
--   x  buckets zset hash seqs path   delete the bucket with its keys
local function page(z, h, from, to, size, rev)
  local ks
  if rev == 'rev' then
    ks = redis.call('ZRANGE', z, from, to, 'BYLEX', 'REV', 'LIMIT', 0, size)
  else
    ks = redis.call('ZRANGE', z, from, to, 'BYLEX', 'LIMIT', 0, size)
  end
  local parts = {}
  if #ks > 0 then
    local vs = redis.call('HMGET', h, unpack(ks))
    for j = 1, #ks do
      local v = vs[j] or ''
      parts[#parts+1] = #ks[j] .. ':' .. ks[j] .. #v .. ':' .. v
    end
  end
  return redis.sha1hex(table.concat(parts))
end

local i, n = 1, #ARGV
-- guards
while i <= n do
  local op = ARGV[i]
  if op == 'e' or op == 'h' then
    local v = redis.call('HGET', KEYS[tonumber(ARGV[i+1])], ARGV[i+2])
    if ARGV[i+3] == '0' then
      if v then return 'CONFLICT' end
    else
      if not v then return 'CONFLICT' end
      if op == 'h' then v = redis.sha1hex(v) end
      if v ~= ARGV[i+4] then return 'CONFLICT' end
    end
    i = i + 5
  elseif op == 'r' then
    local got = page(KEYS[tonumber(ARGV[i+1])], KEYS[tonumber(ARGV[i+2])], ARGV[i+3], ARGV[i+4], tonumber(ARGV[i+5]), ARGV[i+6])
    if got ~= ARGV[i+7] then return 'CONFLICT' end
    i = i + 8
  else
    break
  end
end
-- writes
while i <= n do
  local op = ARGV[i]
  if op == 'p' then
    local z, h, k = KEYS[tonumber(ARGV[i+1])], KEYS[tonumber(ARGV[i+2])], ARGV[i+3]
    if redis.call('HSET', h, k, ARGV[i+4]) == 1 then
      redis.call('ZADD', z, 0, k)
    end
    i = i + 5
  elseif op == 'd' then
    local z, h, k = KEYS[tonumber(ARGV[i+1])], KEYS[tonumber(ARGV[i+2])], ARGV[i+3]
    if redis.call('HDEL', h, k) == 1 then
      redis.call('ZREM', z, k)
    end
    i = i + 4
  elseif op == 's' then
    redis.call('HSET', KEYS[tonumber(ARGV[i+1])], ARGV[i+2], ARGV[i+3])
    i = i + 4
  elseif op == 'c' then
    redis.call('HSET', KEYS[tonumber(ARGV[i+1])], ARGV[i+2], '1')
    i = i + 3
  elseif op == 'x' then
    local path = ARGV[i+5]
    redis.call('HDEL', KEYS[tonumber(ARGV[i+1])], path)
    redis.call('DEL', KEYS[tonumber(ARGV[i+2])], KEYS[tonumber(ARGV[i+3])])
    redis.call('HDEL', KEYS[tonumber(ARGV[i+4])], path)
    i = i + 6
  else
    return redis.error_reply('commit.lua: unknown operation ' .. tostring(op))
  end
end
return 'OK'

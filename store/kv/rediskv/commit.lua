-- commit.lua: one optimistic transaction of kv/rediskv, applied atomically.
--
-- KEYS are every key the transaction touches (all under one hash tag, so
-- one slot). ARGV is a flat list of operations that name keys by their index
-- in KEYS. Guards come first: when any read the transaction made is no
-- longer true, nothing is written and the answer is "CONFLICT". Otherwise
-- every write is applied and the answer is "OK".
--
-- Guards:
--   e  key field present expected   HGET equals expected (present "1"), or the field is absent (present "0")
--   h  key field present sha1       as e, comparing the SHA-1 of the value (for large values)
-- Writes:
--   p  zset hash ver path k v        put: HSET; a new key joins the bucket's order (ZADD) and bumps its version
--   d  zset hash ver path k          delete: HDEL, ZREM, bump the version when the key existed
--   s  seqs path n                   the bucket's sequence is n
--   c  buckets ver path              create the bucket (exists from now on) and bump its version
--   x  buckets zset hash ver seqs path   delete the bucket with its keys
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
  else
    break
  end
end
-- writes
while i <= n do
  local op = ARGV[i]
  if op == 'p' then
    local z, h, ver, path, k = KEYS[tonumber(ARGV[i+1])], KEYS[tonumber(ARGV[i+2])], KEYS[tonumber(ARGV[i+3])], ARGV[i+4], ARGV[i+5]
    if redis.call('HSET', h, k, ARGV[i+6]) == 1 then
      redis.call('ZADD', z, 0, k)
      redis.call('HINCRBY', ver, path, 1)
    end
    i = i + 7
  elseif op == 'd' then
    local z, h, ver, path, k = KEYS[tonumber(ARGV[i+1])], KEYS[tonumber(ARGV[i+2])], KEYS[tonumber(ARGV[i+3])], ARGV[i+4], ARGV[i+5]
    if redis.call('HDEL', h, k) == 1 then
      redis.call('ZREM', z, k)
      redis.call('HINCRBY', ver, path, 1)
    end
    i = i + 6
  elseif op == 's' then
    redis.call('HSET', KEYS[tonumber(ARGV[i+1])], ARGV[i+2], ARGV[i+3])
    i = i + 4
  elseif op == 'c' then
    redis.call('HSET', KEYS[tonumber(ARGV[i+1])], ARGV[i+3], '1')
    redis.call('HINCRBY', KEYS[tonumber(ARGV[i+2])], ARGV[i+3], 1)
    i = i + 4
  elseif op == 'x' then
    local path = ARGV[i+6]
    redis.call('HDEL', KEYS[tonumber(ARGV[i+1])], path)
    redis.call('DEL', KEYS[tonumber(ARGV[i+2])], KEYS[tonumber(ARGV[i+3])])
    redis.call('HINCRBY', KEYS[tonumber(ARGV[i+4])], path, 1)
    redis.call('HDEL', KEYS[tonumber(ARGV[i+5])], path)
    i = i + 7
  else
    return redis.error_reply('commit.lua: unknown operation ' .. tostring(op))
  end
end
return 'OK'

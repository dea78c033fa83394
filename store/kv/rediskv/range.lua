-- range.lua: one page of a bucket's keys in order, with their values, read
-- atomically.
--
-- KEYS: the bucket's order (ZSET) and its values (HASH).
-- ARGV: from, to (ZRANGE BYLEX bounds in walking order: for a reverse walk
-- from is the upper bound), limit, "rev" or "".
-- Answers {k1, v1, k2, v2, ...}.
local ks
if ARGV[4] == 'rev' then
  ks = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'REV', 'LIMIT', 0, tonumber(ARGV[3]))
else
  ks = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
end
local out = {}
if #ks > 0 then
  local vs = redis.call('HMGET', KEYS[2], unpack(ks))
  for j = 1, #ks do
    out[#out+1] = ks[j]
    out[#out+1] = vs[j] or ''
  end
end
return out

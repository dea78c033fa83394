-- range.lua: one page of a bucket's keys in order, with their values and
-- the bucket's version, read atomically.
--
-- KEYS: the bucket's order (ZSET), its values (HASH), the versions (HASH).
-- ARGV: path, from, to (ZRANGE BYLEX bounds, from < to in walking order:
-- for a reverse walk from is the upper bound), limit, "rev" or "".
-- Answers {version, k1, v1, k2, v2, ...}.
local ks
if ARGV[5] == 'rev' then
  ks = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYLEX', 'REV', 'LIMIT', 0, tonumber(ARGV[4]))
else
  ks = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[4]))
end
local out = {redis.call('HGET', KEYS[3], ARGV[1]) or '0'}
if #ks > 0 then
  local vs = redis.call('HMGET', KEYS[2], unpack(ks))
  for j = 1, #ks do
    out[#out+1] = ks[j]
    out[#out+1] = vs[j] or ''
  end
end
return out

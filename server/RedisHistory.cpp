#include "server/RedisHistory.h"

namespace herald::redishistory {
namespace {

// herald_publish KEYS[1]={channel}:history ARGV: data [count [age-ms [origin]]]
//   herald_spublish: the same with SPUBLISH, for a Redis Cluster (sharded pub/sub: the channel
//   is in the key's slot, as the hash tag is the channel).
//   The previous id comes from the last entry: trimming never removes the entry just added, so
//   it is there unless the whole stream expired (then the chain starts again with "").
// herald_read KEYS[1] ARGV: after limit  ->  {complete, last-id, id1, data1, id2, data2, ...}
//   complete = 1 when `after` is still kept or is exactly the newest id trimmed (then nothing
//   after it is gone; "0-0", the start, when nothing was ever trimmed); a stream that does not
//   exist (never written, expired, or lost with a Redis restart) is not complete for any position.
constexpr char kLibrary[] = R"LUA(#!lua name=herald

local function publish_kept(keys, args, verb)
  local key = keys[1]
  local channel = string.match(key, '^{(.+)}:history$')
  if not channel then
    return redis.error_reply('ERR herald_publish: the key must be {<channel>}:history')
  end
  local data = args[1]
  if not data then
    return redis.error_reply('ERR herald_publish: give the data (one JSON value)')
  end
  local count = tonumber(args[2] or '100')
  local age = tonumber(args[3] or '3600000')
  if not count or count < 1 or not age or age < 1 then
    return redis.error_reply('ERR herald_publish: count and age (ms) must be positive numbers')
  end
  local origin = args[4] or ''
  local prev = ''
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if last[1] then prev = last[1][1] end
  local id = redis.call('XADD', key, 'MAXLEN', '~', count, '*', 'd', data)
  local ms = string.match(id, '^(%d+)-')
  redis.call('XTRIM', key, 'MINID', '~', string.format('%.0f', tonumber(ms) - age))
  redis.call('PEXPIRE', key, age)
  local header = '{"id":"' .. id .. '","prev":"' .. prev .. '","origin":' ..
                 cjson.encode(origin) .. ',"ts":' .. ms .. '}'
  redis.call(verb, channel, '\30' .. header .. '\n' .. data)
  return id
end

local function herald_publish(keys, args) return publish_kept(keys, args, 'PUBLISH') end
local function herald_spublish(keys, args) return publish_kept(keys, args, 'SPUBLISH') end

local function herald_read(keys, args)
  local key = keys[1]
  local after = args[1] or ''
  local limit = tonumber(args[2] or '1000')
  if redis.call('EXISTS', key) == 0 then
    if after == '' then return {1, ''} end
    return {0, ''}
  end
  local info = redis.call('XINFO', 'STREAM', key)
  local last, deleted = '', ''
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1]
    elseif info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  end
  if after == '' then return {1, last} end
  local complete = 0
  if after == deleted or #redis.call('XRANGE', key, after, after) == 1 then
    complete = 1
  end
  local out = {complete, last}
  for _, entry in ipairs(redis.call('XRANGE', key, '(' .. after, '+', 'COUNT', limit)) do
    local data = 'null'
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'd' then data = fields[j + 1] end
    end
    out[#out + 1] = entry[1]
    out[#out + 1] = data
  end
  return out
end

redis.register_function('herald_publish', herald_publish)
redis.register_function('herald_spublish', herald_spublish)
redis.register_function{function_name = 'herald_read', callback = herald_read,
                        flags = {'no-writes'}}
)LUA";

Error redisError(const RedisReply& reply, const char* what) {
    if (reply.local)
        return Error{ErrorCode::Unavailable,
                     QStringLiteral("redis unreachable: ") + reply.errorText() +
                         (reply.maybeExecuted
                              ? QStringLiteral(" after the %1 was sent; it may still be delivered")
                                    .arg(QLatin1String(what))
                              : QString())};
    QString text = reply.isError() ? reply.errorText() : QStringLiteral("unexpected reply");
    if (text.contains(QLatin1String("Function not found")))
        text += QStringLiteral(" (the node loads its Redis functions when it connects; Redis 7.0 "
                               "or later is needed for history)");
    return Error{ErrorCode::Unavailable,
                 QStringLiteral("redis refused the %1: %2").arg(QLatin1String(what), text)};
}

} // namespace

QByteArray library() {
    return QByteArray(kLibrary);
}

QByteArray historyKey(const QByteArray& prefix, const QString& routingKey) {
    return '{' + prefix + routingKey.toUtf8() + "}:history";
}

QByteArrayList publishCommand(const QByteArray& prefix, const QString& routingKey,
                              const Retention& retention, const QByteArray& dataJson,
                              const QString& origin, bool sharded) {
    return {"FCALL",
            sharded ? "herald_spublish" : "herald_publish",
            "1",
            historyKey(prefix, routingKey),
            dataJson,
            QByteArray::number(retention.count),
            QByteArray::number(retention.ageMs),
            origin.toUtf8()};
}

std::variant<QString, Error> parsePublishReply(const RedisReply& reply) {
    if (reply.type == RedisReply::Type::String || reply.type == RedisReply::Type::Status)
        return QString::fromLatin1(reply.string);
    return redisError(reply, "publish");
}

QByteArrayList readCommand(const QByteArray& prefix, const QString& routingKey,
                           const QString& after, int limit) {
    return {"FCALL_RO",
            "herald_read",
            "1",
            historyKey(prefix, routingKey),
            after.toLatin1(),
            QByteArray::number(limit)};
}

HistoryRead parseReadReply(const RedisReply& reply) {
    HistoryRead read;
    if (reply.type != RedisReply::Type::Array || reply.elements.size() < 2 ||
        reply.elements[0].type != RedisReply::Type::Integer) {
        read.error = redisError(reply, "history read");
        return read;
    }
    read.complete = reply.elements[0].integer == 1;
    read.lastId = QString::fromLatin1(reply.elements[1].string);
    for (size_t i = 2; i + 1 < reply.elements.size(); i += 2)
        read.entries.append(
            {QString::fromLatin1(reply.elements[i].string), reply.elements[i + 1].string});
    return read;
}

} // namespace herald::redishistory

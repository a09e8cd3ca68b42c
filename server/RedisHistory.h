#pragma once

#include "server/Broker.h"
#include "server/RedisReader.h"

#include <QByteArray>
#include <QByteArrayList>

// Stream history in Redis: one Redis stream per routing key, written and published by one Redis
// function (the library below, loaded by every node), so the append and the publish are one
// step and the published envelope carries the entry id and the one before it.
//
// The history key is "{<channel>}:history": its hash tag is the channel's own name, so in a
// Redis Cluster the key and the channel (sharded pub/sub) share a slot. Any producer can publish
// with history too:
//     FCALL herald_publish 1 "{herald:public.news}:history" '{"headline":"..."}' [count age-ms]
// (count and age default to 100 and 1 hour); a plain PUBLISH stays live-only.
namespace herald::redishistory {

// The Lua library: herald_publish (herald_spublish on a Redis Cluster) and herald_read (read-only).
QByteArray library();
QByteArray historyKey(const QByteArray& prefix, const QString& routingKey);

QByteArrayList publishCommand(const QByteArray& prefix, const QString& routingKey,
                              const Retention& retention, const QByteArray& dataJson,
                              const QString& origin, bool sharded = false);
// The new id, or the error Redis (or the connection) gave.
std::variant<QString, Error> parsePublishReply(const RedisReply& reply);

QByteArrayList readCommand(const QByteArray& prefix, const QString& routingKey,
                           const QString& after, int limit);
HistoryRead parseReadReply(const RedisReply& reply);

} // namespace herald::redishistory

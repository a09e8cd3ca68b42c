#pragma once

#include "server/RedisReader.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>
#include <optional>
#include <variant>

// Redis Cluster's addressing, as plain functions: which slot a key or shard channel lives in,
// what CLUSTER SLOTS says about who owns the slots, and what a MOVED/ASK redirection names.
// Written here because Debian ships no Redis Cluster client for C or C++ (hiredis 0.14 has none).
namespace herald::redisslots {

constexpr int kSlotCount = 16384;

// The slot of `key`: CRC16 (XMODEM) of the key modulo 16384, or of the part between the first
// '{' and the next '}' when that part is not empty (a hash tag), as Redis computes it.
int keySlot(QByteArrayView key);

// One range of slots and the master that serves it ("host:port").
struct SlotRange {
    int first = 0;
    int last = 0;
    QString host;
    quint16 port = 0;
};

// Reads a CLUSTER SLOTS reply. A master announced with an empty host (Redis does that for "the
// address you reached me on") takes `replyHost`. Errors: not an array, bad ranges, no master.
std::variant<QList<SlotRange>, QString> parseClusterSlots(const RedisReply& reply,
                                                          const QString& replyHost);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (an error reply's text).
struct Redirect {
    bool ask = false; // ASK: this command only, preceded by ASKING; MOVED: the slot moved
    int slot = 0;
    QString host;
    quint16 port = 0;
};
std::optional<Redirect> parseRedirect(QByteArrayView errorText);

// "host:port", with brackets around an IPv6 host.
QString endpointOf(const QString& host, quint16 port);

} // namespace herald::redisslots

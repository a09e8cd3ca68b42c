#pragma once

#include "shared/Messages.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <variant>

// The one JSON codec of the protocol. Decoders are strict: unknown events, missing or mistyped
// fields and malformed JSON all come back as an Error with a named code and a readable message.
namespace herald::codec {

template <class T> using Decoded = std::variant<T, Error>;

Decoded<ClientMessage> decodeClientMessage(QByteArrayView json);
QByteArray encode(const ClientMessage& message);

QByteArray encode(const ServerMessage& message);
Decoded<ServerMessage> decodeServerMessage(QByteArrayView json);

Decoded<PublishRequest> decodePublishRequest(QByteArrayView json);
// A batch publish body: a JSON array of publish objects (at most kMaxPublishBatchItems). Each item
// is decoded on its own, so one bad item does not spoil the others; a body that is not a JSON
// array, or holds too many items, is one Error.
Decoded<QList<Decoded<PublishRequest>>> decodePublishBatch(QByteArrayView json);
// Whether a publish body is a batch: its first byte other than whitespace is '['.
inline bool isPublishBatch(QByteArrayView json) {
    return json.trimmed().startsWith('[');
}
QByteArray encode(const PublishRequest& request);

Decoded<BroadcastRequest> decodeBroadcastRequest(QByteArrayView json);
QByteArray encode(const BroadcastRequest& request);

// {"error": {"code": "...", "message": "..."}} as used by HTTP error responses.
QByteArray encodeHttpError(const Error& error);

// Limits on the text of a system notice.
inline constexpr int kMaxTitleLength = 200;
inline constexpr int kMaxBodyLength = 4000;

// Sticky notices (a broadcast with a "ttl"): how long one may stay, how many may be active.
inline constexpr qint64 kMaxStickyTtlMs = 7LL * 24 * 3600 * 1000;
inline constexpr int kMaxStickyNotices = 20;
// A ttl as written by people: a whole number and a unit, "90s", "15m", "2h", "7d" (1 s to 7 d).
std::variant<qint64, Error> parseTtl(const QString& text);
// The shortest such text for a whole number of seconds ("2h", "90s").
QString formatTtl(qint64 ms);

} // namespace herald::codec

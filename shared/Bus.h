#pragma once

#include "shared/Errors.h"

#include <QByteArray>
#include <QString>
#include <variant>

// Payloads on the broker. Herald's own publishes carry an envelope so that every node shows the
// same message id; any other service may publish plain JSON, which becomes the message data.
//   envelope:  "\x1e" {"id":"...","prev":"...","origin":"node","ts":<ms>} "\n" <data JSON>
// "prev" is there only for streams that keep history: the id of the message before this one in
// that stream ("" for the first), so a node that missed one on pub/sub notices the gap.
// JSON text never starts with 0x1E, so the two forms cannot be confused.
namespace herald::bus {

struct Message {
    QString id;     // empty for a plain payload: the receiving node assigns one
    QString origin; // node id, empty for a plain payload
    qint64 publishedMs = 0;
    QByteArray dataJson;  // the data, as compact JSON text
    QString prev;         // the stream's previous id, for streams with history; else empty
    bool hasPrev = false; // the envelope said which id came before (possibly "": none)
};

QByteArray encodeEnvelope(const Message& message);
// Checks that the data is one JSON value; a plain payload must be JSON too.
std::variant<Message, Error> decode(const QByteArray& payload);

// The client frame for a stream message, built once per message and node by splicing the
// already-encoded data in (no re-serialisation per recipient).
QByteArray encodeMessageFrame(const QString& routingKey, const QString& id,
                              const QByteArray& dataJson);

// Validates and compacts one JSON value of any kind (object, array, string, number, ...).
std::variant<QByteArray, Error> compactJsonValue(const QByteArray& json);

} // namespace herald::bus

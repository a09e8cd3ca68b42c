#pragma once

#include "server/WsCodec.h"

#include <QByteArray>

namespace herald {

// A server-to-client message as it goes on the wire: a WebSocket text frame, header included.
// Built once per message per node and shared (implicitly, by reference count) by every
// recipient; server frames are unmasked, so the bytes are the same for all of them.
class Frame {
public:
    Frame() = default;
    static Frame text(QByteArrayView json) {
        return Frame(ws::encodeFrame(ws::Opcode::Text, json));
    }

    // The same bytes in a buffer of its own: what a worker thread gets, so that recipients on
    // different threads do not all count references on one shared buffer.
    Frame detached() const { return Frame(QByteArray(bytes_.constData(), bytes_.size())); }

    const QByteArray& bytes() const { return bytes_; }
    // The JSON inside, for logs and tests.
    QByteArrayView payload() const { return ws::framePayload(bytes_); }
    bool isNull() const { return bytes_.isNull(); }

private:
    explicit Frame(QByteArray bytes)
        : bytes_(std::move(bytes)) {}
    QByteArray bytes_;
};

} // namespace herald

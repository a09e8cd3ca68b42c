#pragma once

#include "server/ClientTransport.h"

#include <QByteArray>
#include <atomic>
#include <functional>

namespace herald {

// An accepted WebSocket as its owner (the Gateway, or a ConnectionWorker) drives it, whatever it
// runs on: WebSocketConnection on a QTcpSocket (TLS), RawWebSocketConnection on a bare
// descriptor (plain TCP). Inbound events go to the handlers; `closed` is reported from the
// event loop (queued), never from inside a call into the connection, so the owner may delete it
// there.
class WebSocketTransport : public ClientTransport {
public:
    struct Handlers {
        std::function<void(const QByteArray& text)> text;
        std::function<void()> binary;
        std::function<void()> activity; // a pong or a ping: the peer is alive
        std::function<void()> closed;
    };

    // Starts reading (the bytes that came with the handshake first).
    virtual void start(Handlers handlers) = 0;
    // Keeps `mirror` equal to pendingBytes() for another thread (server/ConnectionWorker.h).
    virtual void mirrorPendingTo(std::atomic<qint64>* mirror) = 0;

    // How long a peer may take to answer our close frame before the connection is cut.
    static constexpr int kCloseTimeoutMs = 5000;
};

} // namespace herald

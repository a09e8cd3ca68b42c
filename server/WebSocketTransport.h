#pragma once

#include "server/ClientTransport.h"
#include "server/WsCodec.h"

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

protected:
    // What a decoded client frame means, the same on every transport: text and binary go to the
    // handlers (none after our close frame), a ping is answered with a pong (`push`), both count
    // as activity. A close is echoed (its code and reason, which the decoder checked; 1005 never
    // goes on the wire and is answered 1000) and a protocol error answered with its close code,
    // through `sendClose`, unless our close went already. What follows a close differs by
    // transport, so the caller does it on PeerClosed (close the connection once our frame is
    // out, RFC 6455 7.1.1) and ProtocolError (stop sending and let the peer read why first).
    enum class FrameOutcome { Continue, PeerClosed, ProtocolError };
    template <typename Push, typename SendClose>
    static FrameOutcome dispatch(ws::Event& event, bool closeSent, const Handlers& handlers,
                                 Push&& push, SendClose&& sendClose) {
        using Kind = ws::Event::Kind;
        switch (event.kind) {
        case Kind::Text:
            if (!closeSent && handlers.text)
                handlers.text(event.payload);
            break;
        case Kind::Binary:
            if (!closeSent && handlers.binary)
                handlers.binary();
            break;
        case Kind::Ping:
            if (!closeSent)
                push(ws::encodeFrame(ws::Opcode::Pong, event.payload));
            [[fallthrough]];
        case Kind::Pong:
            if (handlers.activity)
                handlers.activity();
            break;
        case Kind::Close:
            if (!closeSent)
                sendClose(event.closeCode == 1005 ? 1000 : event.closeCode,
                          QByteArrayView(event.payload));
            return FrameOutcome::PeerClosed;
        case Kind::Error:
            if (!closeSent)
                sendClose(event.closeCode, QByteArrayView(event.error));
            return FrameOutcome::ProtocolError;
        case Kind::None:
            break;
        }
        return FrameOutcome::Continue;
    }
};

} // namespace herald

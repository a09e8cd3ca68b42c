#pragma once

#include "server/ClientTransport.h"
#include "server/OutboundQueue.h"
#include "server/WsCodec.h"

#include <QObject>
#include <QTimer>
#include <functional>

class QSslSocket;
class QTcpSocket;

namespace herald {

// One accepted WebSocket (the 101 answer is already written): decodes client frames with
// ws::FrameDecoder, answers pings, runs the closing handshake, and writes shared frames. Owns
// its socket. Inbound events go to the handlers; `closed` is reported from the event loop
// (queued), never from inside a call into this object, so the owner may delete it there.
class WebSocketConnection final : public QObject, public ClientTransport {
    Q_OBJECT
public:
    struct Handlers {
        std::function<void(const QByteArray& text)> text;
        std::function<void()> binary;
        std::function<void()> activity; // a pong or a ping: the peer is alive
        std::function<void()> closed;
    };

    // `handshake` (the 101 answer) is the first thing written; `firstBytes` arrived with the
    // request head and are the first frames read.
    WebSocketConnection(QTcpSocket* socket, WriteBatcher& batcher, QByteArray handshake,
                        QByteArray firstBytes, qint64 maxMessageBytes);
    ~WebSocketConnection() override;

    // Starts reading (the bytes that came with the handshake first).
    void start(Handlers handlers);
    // Keeps `mirror` equal to pendingBytes() for another thread (server/ConnectionWorker.h).
    void mirrorPendingTo(std::atomic<qint64>* mirror) { out_.mirrorPendingTo(mirror); }

    void send(const Frame& frame) override;
    void ping() override;
    void close(int code, const QString& reason) override;
    qint64 pendingBytes() const override;
    QString peer() const override;

    // How long a peer may take to answer our close frame before the socket is cut.
    static constexpr int kCloseTimeoutMs = 5000;

private:
    void readAvailable();
    void handle(ws::Event& event);
    void sendClose(int code, QByteArrayView reason);
    void shutdownAfterFlush();
    void reportClosed();
    void deliverClosed(); // once, and only to a handler that start() gave

    QTcpSocket* socket_;
    QSslSocket* tls_; // the same socket when it speaks TLS, else null
    OutboundQueue out_;
    ws::FrameDecoder decoder_;
    Handlers handlers_;
    QTimer closeTimer_;
    bool closeSent_ = false;
    bool reported_ = false;
    bool closedDelivered_ = false;
};

} // namespace herald

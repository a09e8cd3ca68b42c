#pragma once

#include "server/OutboundQueue.h"
#include "server/WebSocketTransport.h"
#include "server/WsCodec.h"

#include <QObject>
#include <QTimer>

class QSslSocket;
class QTcpSocket;

namespace herald {

// One accepted WebSocket on its QTcpSocket (the TLS path; a plain one runs on its bare
// descriptor instead, server/RawWebSocketConnection.h): decodes client frames with
// ws::FrameDecoder, answers pings, runs the closing handshake, and writes shared frames. Owns
// its socket. Inbound events go to the handlers; `closed` is reported from the event loop
// (queued), never from inside a call into this object, so the owner may delete it there.
class WebSocketConnection final : public QObject, public WebSocketTransport {
    Q_OBJECT
public:
    // `handshake` (the 101 answer) is the first thing written; `firstBytes` arrived with the
    // request head and are the first frames read.
    WebSocketConnection(QTcpSocket* socket, WriteBatcher& batcher, QByteArray handshake,
                        QByteArray firstBytes, qint64 maxMessageBytes);
    ~WebSocketConnection() override;

    // Starts reading (the bytes that came with the handshake first).
    void start(Handlers handlers) override;
    void mirrorPendingTo(std::atomic<qint64>* mirror) override { out_.mirrorPendingTo(mirror); }

    void send(const Frame& frame) override;
    void ping() override;
    void close(int code, const QString& reason) override;
    qint64 pendingBytes() const override;

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

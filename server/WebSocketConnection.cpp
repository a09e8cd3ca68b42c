#include "server/WebSocketConnection.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <sys/socket.h>

namespace herald {

WebSocketConnection::WebSocketConnection(QTcpSocket* socket, WriteBatcher& batcher,
                                         QByteArray handshake, QByteArray firstBytes,
                                         qint64 maxMessageBytes)
    : socket_(socket)
    , tls_(qobject_cast<QSslSocket*>(socket))
    , out_(socket, batcher)
    , decoder_(maxMessageBytes) {
    socket_->setParent(this);
    out_.push(std::move(handshake));
    decoder_.feed(firstBytes);
    connect(&out_, &OutboundQueue::failed, this, [this] {
        socket_->abort();
        reportClosed();
    });
    closeTimer_.setSingleShot(true);
    connect(&closeTimer_, &QTimer::timeout, this, [this] {
        socket_->abort();
        reportClosed();
    });
    connect(socket_, &QTcpSocket::disconnected, this, &WebSocketConnection::reportClosed);
}

WebSocketConnection::~WebSocketConnection() {
    // Deleted later, not now: the owner may be inside one of the socket's own signals.
    socket_->disconnect(this);
    socket_->setParent(nullptr);
    socket_->abort();
    socket_->deleteLater();
}

void WebSocketConnection::start(Handlers handlers) {
    handlers_ = std::move(handlers);
    connect(socket_, &QTcpSocket::readyRead, this, &WebSocketConnection::readAvailable);
    // A socket handed to a worker thread may have seen its peer go before it got here, and
    // so before there was a handler to tell.
    if (socket_->state() != QAbstractSocket::ConnectedState)
        reportClosed();
    if (reported_) {
        QMetaObject::invokeMethod(this, &WebSocketConnection::deliverClosed, Qt::QueuedConnection);
        return;
    }
    // Frames that arrived in the same packet as the handshake are decoded first, from the loop.
    QMetaObject::invokeMethod(this, &WebSocketConnection::readAvailable, Qt::QueuedConnection);
}

void WebSocketConnection::readAvailable() {
    if (socket_->bytesAvailable() > 0)
        decoder_.feed(socket_->readAll());
    for (ws::Event event = decoder_.next(); event.kind != ws::Event::Kind::None;
         event = decoder_.next())
        handle(event);
}

void WebSocketConnection::handle(ws::Event& event) {
    using Kind = ws::Event::Kind;
    switch (event.kind) {
    case Kind::Text:
        if (!closeSent_ && handlers_.text)
            handlers_.text(event.payload);
        break;
    case Kind::Binary:
        if (!closeSent_ && handlers_.binary)
            handlers_.binary();
        break;
    case Kind::Ping:
        if (!closeSent_)
            out_.push(ws::encodeFrame(ws::Opcode::Pong, event.payload));
        [[fallthrough]];
    case Kind::Pong:
        if (handlers_.activity)
            handlers_.activity();
        break;
    case Kind::Close:
        // Echo the peer's code and reason (the decoder checked both; a frame without a code is
        // answered 1000, since 1005 never goes on the wire), then the server closes the TCP
        // connection (RFC 6455 7.1.1).
        if (!closeSent_)
            sendClose(event.closeCode == 1005 ? 1000 : event.closeCode, event.payload);
        out_.whenDrained([this] { socket_->disconnectFromHost(); });
        closeTimer_.start(kCloseTimeoutMs);
        break;
    case Kind::Error:
        // The peer broke the protocol: say why, stop sending, and let it read that before the
        // connection goes (closing with its input unread would reset it and lose our frame).
        if (!closeSent_)
            sendClose(event.closeCode, event.error);
        shutdownAfterFlush();
        closeTimer_.start(kCloseTimeoutMs);
        break;
    case Kind::None:
        break;
    }
}

void WebSocketConnection::send(const Frame& frame) {
    if (!closeSent_)
        out_.push(frame.bytes());
}

void WebSocketConnection::ping() {
    if (!closeSent_)
        out_.push(ws::encodeFrame(ws::Opcode::Ping, {}));
}

void WebSocketConnection::close(int code, const QString& reason) {
    if (closeSent_)
        return;
    sendClose(code, reason.toUtf8());
    // A peer that never answers the close frame must not hold the connection open.
    closeTimer_.start(kCloseTimeoutMs);
}

void WebSocketConnection::sendClose(int code, QByteArrayView reason) {
    closeSent_ = true;
    out_.push(ws::encodeClose(code, reason));
}

void WebSocketConnection::shutdownAfterFlush() {
    if (tls_) {
        // The TLS layer must end the stream (close_notify after what is queued); a raw
        // shutdown would cut under it.
        tls_->disconnectFromHost();
        return;
    }
    out_.whenDrained([this] {
        if (socket_->state() == QAbstractSocket::ConnectedState)
            ::shutdown(static_cast<int>(socket_->socketDescriptor()), SHUT_WR);
    });
}

void WebSocketConnection::reportClosed() {
    if (reported_)
        return;
    reported_ = true;
    out_.stop();
    closeTimer_.stop();
    QMetaObject::invokeMethod(this, &WebSocketConnection::deliverClosed, Qt::QueuedConnection);
}

void WebSocketConnection::deliverClosed() {
    if (closedDelivered_ || !handlers_.closed)
        return;
    closedDelivered_ = true;
    handlers_.closed();
}

qint64 WebSocketConnection::pendingBytes() const {
    return out_.pending();
}

QString WebSocketConnection::peer() const {
    return socket_->peerAddress().toString() + QLatin1Char(':') +
           QString::number(socket_->peerPort());
}

} // namespace herald

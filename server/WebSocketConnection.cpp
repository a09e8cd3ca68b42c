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
    const auto outcome = dispatch(
        event, closeSent_, handlers_, [this](QByteArray bytes) { out_.push(std::move(bytes)); },
        [this](int code, QByteArrayView reason) { sendClose(code, reason); });
    if (outcome == FrameOutcome::PeerClosed)
        out_.whenDrained([this] { socket_->disconnectFromHost(); });
    else if (outcome == FrameOutcome::ProtocolError)
        shutdownAfterFlush();
    if (outcome != FrameOutcome::Continue)
        closeTimer_.start(kCloseTimeoutMs);
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

} // namespace herald

#include "server/WebSocketTransport.h"

#include <QTimer>
#include <QWebSocket>

namespace herald {

WebSocketTransport::WebSocketTransport(QWebSocket* socket)
    : socket_(socket) {}

WebSocketTransport::~WebSocketTransport() {
    if (socket_) {
        socket_->disconnect();
        socket_->abort();
        socket_->deleteLater();
    }
}

void WebSocketTransport::sendText(const QString& frame) {
    if (socket_)
        socket_->sendTextMessage(frame);
}

void WebSocketTransport::ping() {
    if (socket_)
        socket_->ping();
}

void WebSocketTransport::close(int code, const QString& reason) {
    if (!socket_)
        return;
    socket_->close(static_cast<QWebSocketProtocol::CloseCode>(code), reason);
    // A peer that never answers the close frame must not hold the connection open.
    QTimer::singleShot(kCloseTimeoutMs, socket_.data(), [s = socket_] {
        if (s)
            s->abort();
    });
}

qint64 WebSocketTransport::pendingBytes() const {
    return socket_ ? socket_->bytesToWrite() : 0;
}

QString WebSocketTransport::peer() const {
    if (!socket_)
        return {};
    return socket_->peerAddress().toString() + QLatin1Char(':') +
           QString::number(socket_->peerPort());
}

} // namespace herald

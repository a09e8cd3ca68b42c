#include "server/Listener.h"

#include "shared/Codec.h"

#include <QSslSocket>
#include <QTimer>
#include <unistd.h>

namespace herald {
namespace {

// Every TLS record, and so every ClientHello, starts with the handshake content type.
constexpr char kTlsHandshakeRecord = 0x16;
// How long the answer to a plain HTTP request may take to leave before the socket is cut.
constexpr int kPlainAnswerLingerMs = 2000;
// A TLS record: type, version (3, x), 16-bit length; a plaintext record is at most 16 KB.
constexpr int kRecordHeaderBytes = 5;
constexpr int kMaxRecordBytes = 16 * 1024;

QByteArray plainHttpAnswer() {
    const QByteArray body = codec::encodeHttpError(
        {ErrorCode::BadRequest,
         QStringLiteral(
             "this port speaks TLS: use https:// or wss:// instead of http:// or ws://")});
    return "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
           QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

} // namespace

Listener::Listener(QObject* parent)
    : QTcpServer(parent) {}

void Listener::incomingConnection(qintptr descriptor) {
    if (!tls_) {
        QTcpServer::incomingConnection(descriptor);
        return;
    }
    auto* socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        ::close(static_cast<int>(descriptor));
        delete socket;
        return;
    }
    socket->setSslConfiguration(*tls_);
    // Server-side sockets do not get TCP_NODELAY by default; handshake flights must not wait.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    auto* timer = new QTimer(socket);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, this, [this, socket, timer] {
        fail(socket, timer, QStringLiteral("handshake not finished in time"));
        socket->abort(); // after fail(): its disconnected() must not be reported a second time
    });
    timer->start(handshakeTimeoutMs_);
    // TLS starts once the first bytes show a TLS client and its whole first record is here.
    connect(socket, &QSslSocket::readyRead, this,
            [this, socket, timer] { onFirstBytes(socket, timer); });
    connect(socket, &QSslSocket::encrypted, this,
            [this, socket, timer] { succeed(socket, timer); });
    connect(socket, &QSslSocket::errorOccurred, this,
            [this, socket, timer] { fail(socket, timer, socket->errorString()); });
    connect(socket, &QSslSocket::disconnected, this, [this, socket, timer] {
        fail(socket, timer, QStringLiteral("closed by the client during the handshake"));
    });
}

void Listener::onFirstBytes(QSslSocket* socket, QTimer* timer) {
    if (socket->mode() != QSslSocket::UnencryptedMode)
        return;
    // QSslSocket peeks at the plain socket here, so the bytes stay for the TLS layer to read.
    const QByteArray head = socket->peek(kRecordHeaderBytes);
    if (head.isEmpty())
        return;
    if (head[0] >= 'A' && head[0] <= 'Z') {
        answerPlainHttp(socket, timer);
        return;
    }
    if (head[0] != kTlsHandshakeRecord) {
        fail(socket, timer, QStringLiteral("not a TLS handshake"));
        socket->abort();
        return;
    }
    if (head.size() < kRecordHeaderBytes)
        return;
    const int length = (quint8(head[3]) << 8) | quint8(head[4]);
    if (head[1] != 3 || length == 0 || length > kMaxRecordBytes) {
        fail(socket, timer, QStringLiteral("not a TLS handshake"));
        socket->abort();
        return;
    }
    if (socket->bytesAvailable() < kRecordHeaderBytes + length)
        return; // the rest of the ClientHello is on its way
    socket->startServerEncryption();
}

void Listener::answerPlainHttp(QSslSocket* socket, QTimer* timer) {
    // Done with the handshake; what remains is the answer's delivery.
    socket->disconnect(this);
    timer->disconnect(this);
    Q_EMIT handshakeFailed(socket, QStringLiteral("plain HTTP request on the TLS port"));
    connect(timer, &QTimer::timeout, socket, [socket] {
        socket->abort();
        socket->deleteLater();
    });
    timer->start(kPlainAnswerLingerMs);
    connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
    // Read what was sent: closing with unread input would reset the connection and could
    // destroy the answer before the client reads it.
    socket->readAll();
    socket->write(plainHttpAnswer());
    socket->disconnectFromHost();
}

void Listener::succeed(QSslSocket* socket, QTimer* timer) {
    socket->disconnect(this);
    delete timer;
    Q_EMIT encrypted(socket);
}

void Listener::fail(QSslSocket* socket, QTimer* timer, const QString& why) {
    socket->disconnect(this);
    timer->stop();
    Q_EMIT handshakeFailed(socket, why);
    // Freed (and so closed) from the event loop: this may run inside the TLS layer's own error
    // report, which must not see its socket torn down under it.
    socket->deleteLater();
}

} // namespace herald

#include "server/HttpConnection.h"

#include "shared/Codec.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <QUrl>
#include <climits>
#include <sys/socket.h>

namespace herald {
namespace {

const char* reasonPhrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

} // namespace

HttpResponse HttpResponse::json(int status, const QByteArray& body) {
    HttpResponse r;
    r.status = status;
    r.body = body;
    return r;
}

HttpResponse HttpResponse::error(int status, const Error& error) {
    return json(status, codec::encodeHttpError(error));
}

HttpConnection::HttpConnection(QTcpSocket* socket, Limits limits, QObject* parent)
    : QObject(parent)
    , socket_(socket)
    , limits_(limits)
    , parser_({limits.maxHeadBytes, limits.maxBodyBytes}, socket->peerAddress()) {
    connect(socket_, &QTcpSocket::readyRead, this, &HttpConnection::readMore);
    connect(socket_, &QTcpSocket::disconnected, this, &QObject::deleteLater);
    timer_.setSingleShot(true);
    connect(&timer_, &QTimer::timeout, this, [this] {
        if (answering_)
            return;
        if (parser_.inRequest())
            fail(408, {ErrorCode::BadRequest, QStringLiteral("request not received in time")});
        else
            closeSoon();
    });
    timer_.start(limits_.timeoutMs);
    if (socket_->bytesAvailable() > 0)
        readMore();
}

HttpConnection::~HttpConnection() {
    if (socket_)
        socket_->deleteLater();
}

HttpConnection::Upgrade HttpConnection::takeUpgrade() {
    Upgrade upgrade{socket_, std::move(pending_)};
    socket_ = nullptr;
    pending_.clear();
    upgrade.socket->disconnect(this);
    upgrade.socket->setParent(nullptr);
    timer_.stop();
    deleteLater();
    return upgrade;
}

void HttpConnection::refuseUpgrade(const QByteArray& bytes) {
    if (!socket_ || !answering_)
        return;
    answering_ = false;
    socket_->write(bytes);
    closeSoon();
}

void HttpConnection::readMore() {
    if (!socket_ || closing_)
        return;
    pending_ += socket_->readAll();
    feed();
}

void HttpConnection::feed() {
    using Kind = HttpRequestParser::Result::Kind;
    while (!answering_ && !closing_ && socket_ && !pending_.isEmpty()) {
        HttpRequestParser::Result r = parser_.parse(pending_);
        pending_.remove(0, r.consumed);
        switch (r.kind) {
        case Kind::Error:
            fail(r.status, r.error);
            return;
        case Kind::Upgrade:
            timer_.stop();
            answering_ = true;
            // What follows the head (pending_) is WebSocket frames: the receiver answers,
            // refuses, or takes them over with the socket. A proxy may ask on a connection that
            // carried requests before (nginx reuses its keep-alive pool for upgrades), so the
            // socket is handed over only once the earlier answers are out: the WebSocket side
            // writes to it directly, past anything still queued here.
            heldUpgrade_ = r.request;
            upgradeWhenFlushed();
            return;
        case Kind::Request:
            timer_.stop();
            answering_ = true;
            Q_EMIT requestReady(r.request);
            break;
        case Kind::NeedMore:
            if (r.consumed == 0)
                return;
            break;
        }
    }
}

void HttpConnection::upgradeWhenFlushed() {
    if (!socket_ || !heldUpgrade_)
        return;
    if (socket_->bytesToWrite() > 0)
        socket_->flush();
    if (socket_->bytesToWrite() > 0) {
        if (!flushWait_)
            flushWait_ = connect(socket_, &QTcpSocket::bytesWritten, this,
                                 &HttpConnection::upgradeWhenFlushed);
        return;
    }
    disconnect(flushWait_);
    flushWait_ = {};
    const HttpRequest request = std::move(*heldUpgrade_);
    heldUpgrade_.reset();
    Q_EMIT upgradeRequested(request);
}

void HttpConnection::respond(const HttpResponse& response) {
    if (!socket_ || !answering_)
        return;
    answering_ = false;
    QByteArray out;
    out.reserve(response.body.size() + 256);
    out += "HTTP/1.1 " + QByteArray::number(response.status) + ' ' + reasonPhrase(response.status) +
           "\r\n";
    out += "Content-Type: " + response.contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\n";
    for (const auto& [name, value] : response.headers)
        out += name + ": " + value + "\r\n";
    const bool keepAlive = parser_.keepAlive() && !failed_;
    out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    out += response.body;
    socket_->write(out);
    if (!keepAlive) {
        closeSoon();
        return;
    }
    timer_.start(limits_.timeoutMs);
    // Queued: respond() may run inside a parser callback, and the parser is not re-entrant.
    QMetaObject::invokeMethod(this, &HttpConnection::feed, Qt::QueuedConnection);
}

void HttpConnection::fail(int status, const Error& error) {
    if (!socket_ || closing_)
        return;
    Q_EMIT protocolError(error.code);
    answering_ = true;
    failed_ = true;
    respond(HttpResponse::error(status, error));
}

void HttpConnection::closeSoon() {
    if (!socket_ || closing_)
        return;
    closing_ = true;
    // Lingering close: send everything, shut our side, then read and drop what the client is
    // still sending. Closing with unread input would make the kernel reset the connection and
    // the client could lose our response (e.g. a 413 sent while its body is still arriving).
    connect(socket_, &QTcpSocket::readyRead, this, [this] { socket_->readAll(); });
    if (auto* tls = qobject_cast<QSslSocket*>(socket_)) {
        // Under TLS our side ends with close_notify, which only the TLS layer can send: it
        // flushes what is queued, sends it and closes (shutting the raw socket would skip it).
        tls->disconnectFromHost();
    } else {
        auto shutWrite = [this] {
            if (!socket_ || socket_->bytesToWrite() > 0)
                return;
            ::shutdown(static_cast<int>(socket_->socketDescriptor()), SHUT_WR);
        };
        connect(socket_, &QTcpSocket::bytesWritten, this, shutWrite);
        shutWrite();
    }
    socket_->readAll();
    timer_.disconnect(this);
    connect(&timer_, &QTimer::timeout, this, [this] {
        if (socket_)
            socket_->abort();
        deleteLater();
    });
    timer_.start(kLingerMs);
}

} // namespace herald

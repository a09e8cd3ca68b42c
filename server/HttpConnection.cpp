#include "server/HttpConnection.h"

#include "shared/Codec.h"

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

HttpConnection* self(http_parser* p) {
    return static_cast<HttpConnection*>(p->data);
}

} // namespace

QByteArray bearerCredential(const QByteArray& authorization) {
    const QByteArray value = authorization.trimmed();
    if (value.size() > 7 && value.left(7).toLower() == "bearer ")
        return value.mid(7).trimmed();
    return {};
}

QByteArray HttpRequest::bearerToken() const {
    return bearerCredential(header("authorization"));
}

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
    , limits_(limits) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_url = &HttpConnection::onUrl;
    settings_.on_header_field = &HttpConnection::onHeaderField;
    settings_.on_header_value = &HttpConnection::onHeaderValue;
    settings_.on_headers_complete = &HttpConnection::onHeadersComplete;
    settings_.on_body = &HttpConnection::onBody;
    settings_.on_message_complete = &HttpConnection::onMessageComplete;
    current_.peer = socket_->peerAddress();
    connect(socket_, &QTcpSocket::readyRead, this, &HttpConnection::readMore);
    connect(socket_, &QTcpSocket::disconnected, this, &QObject::deleteLater);
    timer_.setSingleShot(true);
    connect(&timer_, &QTimer::timeout, this, [this] {
        if (answering_)
            return;
        if (headBytes_ > 0 || !current_.body.isEmpty())
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
    while (!answering_ && !closing_ && socket_ && !pending_.isEmpty()) {
        if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED)
            http_parser_pause(&parser_, 0);
        const size_t parsed = http_parser_execute(&parser_, &settings_, pending_.constData(),
                                                  static_cast<size_t>(pending_.size()));
        const http_errno err = HTTP_PARSER_ERRNO(&parser_);
        if (errorStatus_ != 0) {
            fail(errorStatus_, error_);
            return;
        }
        if (err != HPE_OK && err != HPE_PAUSED) {
            fail(400,
                 {ErrorCode::BadRequest, QStringLiteral("malformed HTTP request: %1")
                                             .arg(QLatin1String(http_errno_description(err)))});
            return;
        }
        pending_.remove(0, static_cast<qsizetype>(parsed));
        if (upgradeReady_) {
            // The parser stopped at the end of the head; what follows is WebSocket frames.
            upgradeReady_ = false;
            Q_EMIT upgradeRequested(current_); // the receiver answers, refuses or takes over
            return;
        }
        if (err == HPE_OK && parsed == 0)
            break;
    }
}

void HttpConnection::respond(const HttpResponse& response) {
    if (!socket_ || !answering_)
        return;
    answering_ = false;
    firstRequest_ = false;
    QByteArray out;
    out.reserve(response.body.size() + 256);
    out += "HTTP/1.1 " + QByteArray::number(response.status) + ' ' + reasonPhrase(response.status) +
           "\r\n";
    out += "Content-Type: " + response.contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\n";
    for (const auto& [name, value] : response.headers)
        out += name + ": " + value + "\r\n";
    out += keepAlive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    out += response.body;
    socket_->write(out);
    if (!keepAlive_) {
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
    keepAlive_ = false;
    respond(HttpResponse::error(status, error));
}

void HttpConnection::closeSoon() {
    if (!socket_ || closing_)
        return;
    closing_ = true;
    // Lingering close: send everything, shut our side, then read and drop what the client is
    // still sending. Closing with unread input would make the kernel reset the connection and
    // the client could lose our response (e.g. a 413 sent while its body is still arriving).
    auto shutWrite = [this] {
        if (!socket_ || socket_->bytesToWrite() > 0)
            return;
        ::shutdown(static_cast<int>(socket_->socketDescriptor()), SHUT_WR);
    };
    connect(socket_, &QTcpSocket::bytesWritten, this, shutWrite);
    connect(socket_, &QTcpSocket::readyRead, this, [this] { socket_->readAll(); });
    shutWrite();
    socket_->readAll();
    timer_.disconnect(this);
    connect(&timer_, &QTimer::timeout, this, [this] {
        if (socket_)
            socket_->abort();
        deleteLater();
    });
    timer_.start(kLingerMs);
}

int HttpConnection::countHead(size_t length) {
    headBytes_ += static_cast<qint64>(length);
    if (headBytes_ <= limits_.maxHeadBytes)
        return 0;
    errorStatus_ = 431;
    error_ = {ErrorCode::TooLarge,
              QStringLiteral("request head over %1 bytes").arg(limits_.maxHeadBytes)};
    return 1;
}

int HttpConnection::onUrl(http_parser* p, const char* at, size_t length) {
    HttpConnection* c = self(p);
    c->url_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpConnection::onHeaderField(http_parser* p, const char* at, size_t length) {
    HttpConnection* c = self(p);
    if (c->lastWasValue_) {
        c->current_.headers.insert(c->field_.toLower(), c->value_.trimmed());
        c->field_.clear();
        c->value_.clear();
    }
    c->lastWasValue_ = false;
    c->field_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpConnection::onHeaderValue(http_parser* p, const char* at, size_t length) {
    HttpConnection* c = self(p);
    c->lastWasValue_ = true;
    c->value_.append(at, static_cast<qsizetype>(length));
    return c->countHead(length);
}

int HttpConnection::onHeadersComplete(http_parser* p) {
    HttpConnection* c = self(p);
    if (!c->field_.isEmpty())
        c->current_.headers.insert(c->field_.toLower(), c->value_.trimmed());
    c->field_.clear();
    c->value_.clear();
    c->lastWasValue_ = false;
    const QUrl url = QUrl::fromEncoded("http://h" + c->url_);
    c->current_.method = http_method_str(static_cast<http_method>(p->method));
    c->current_.path = url.path();
    c->current_.query = QUrlQuery(url);
    c->current_.upgrade = p->upgrade != 0;
    c->current_.httpMajor = p->http_major;
    c->current_.httpMinor = p->http_minor;
    // An answer to a failed upgrade closes the connection: what follows may be frames.
    c->keepAlive_ = !c->current_.upgrade && http_should_keep_alive(p) != 0;
    if (p->content_length != ULLONG_MAX &&
        p->content_length > static_cast<quint64>(c->limits_.maxBodyBytes)) {
        c->errorStatus_ = 413;
        c->error_ = {ErrorCode::TooLarge,
                     QStringLiteral("request body over %1 bytes").arg(c->limits_.maxBodyBytes)};
        return -1; // 1 and 2 mean "no body" to http_parser; anything else stops it
    }
    return 0;
}

int HttpConnection::onBody(http_parser* p, const char* at, size_t length) {
    HttpConnection* c = self(p);
    if (c->current_.body.size() + static_cast<qint64>(length) > c->limits_.maxBodyBytes) {
        c->errorStatus_ = 413;
        c->error_ = {ErrorCode::TooLarge,
                     QStringLiteral("request body over %1 bytes").arg(c->limits_.maxBodyBytes)};
        return 1;
    }
    c->current_.body.append(at, static_cast<qsizetype>(length));
    return 0;
}

int HttpConnection::onMessageComplete(http_parser* p) {
    HttpConnection* c = self(p);
    c->url_.clear();
    c->headBytes_ = 0;
    c->timer_.stop();
    c->answering_ = true;
    if (c->current_.upgrade) {
        if (!c->firstRequest_) {
            c->errorStatus_ = 400;
            c->error_ = {ErrorCode::BadRequest, QStringLiteral("upgrade only on a new connection")};
            return 0;
        }
        // The parser stops here by itself (the rest is another protocol); feed() hands it on
        // once it knows where the head ended.
        c->upgradeReady_ = true;
        return 0;
    }
    HttpRequest request = std::move(c->current_);
    c->current_ = HttpRequest{};
    c->current_.peer = request.peer;
    http_parser_pause(p, 1);
    c->firstRequest_ = false;
    Q_EMIT c->requestReady(request);
    return 0;
}

} // namespace herald

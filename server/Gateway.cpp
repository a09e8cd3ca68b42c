#include "server/Gateway.h"

#include "server/Hub.h"
#include "server/RawWebSocketConnection.h"
#include "server/WebSocketConnection.h"
#include "server/WorkerPool.h"
#include "shared/Codec.h"
#include "shared/Limits.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QSslSocket>
#include <QTcpSocket>

Q_LOGGING_CATEGORY(lcGateway, "herald.gateway")

namespace herald {
namespace {

// Does a comma-separated header value hold `token` (case-insensitive)?
bool headerHasToken(const QByteArray& value, QByteArrayView token) {
    for (const QByteArray& part : value.split(','))
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    return false;
}

// RFC 6455 4.2.1: what a server must see before it may answer 101.
std::optional<HttpResponse> handshakeProblem(const HttpRequest& request) {
    auto bad = [](const QString& why) {
        return HttpResponse::error(400, {ErrorCode::BadRequest, why});
    };
    if (request.method != "GET")
        return bad(QStringLiteral("a WebSocket handshake must be a GET request"));
    if (request.httpMajor < 1 || (request.httpMajor == 1 && request.httpMinor < 1))
        return bad(QStringLiteral("a WebSocket handshake needs HTTP/1.1"));
    if (!headerHasToken(request.header("upgrade"), "websocket"))
        return bad(QStringLiteral("Upgrade must be \"websocket\""));
    if (!headerHasToken(request.header("connection"), "upgrade"))
        return bad(QStringLiteral("Connection must include \"Upgrade\""));
    if (request.header("sec-websocket-version") != "13") {
        HttpResponse r = HttpResponse::error(
            426, {ErrorCode::BadRequest, QStringLiteral("only WebSocket version 13 is spoken")});
        r.headers.append(qMakePair(QByteArray("Sec-WebSocket-Version"), QByteArray("13")));
        return r;
    }
    if (!ws::isValidClientKey(request.header("sec-websocket-key")))
        return bad(QStringLiteral("Sec-WebSocket-Key must be base64 of 16 bytes"));
    return std::nullopt;
}

SourceLimiter::Settings limiterSettings(const Config& config) {
    SourceLimiter::Settings s;
    s.maxConnections = config.ipMaxConnections;
    s.connectRate = config.ipConnectRate;
    s.authFailureLimit = config.authFailureLimit;
    for (const QString& subnet : config.ipLimitExempt)
        s.exempt.append(QHostAddress::parseSubnet(subnet));
    return s;
}

} // namespace

Gateway::Gateway(const Config& config, Hub& hub, WriteBatcher& batcher, WorkerPool* workers,
                 const Authenticator& auth, HttpHandler httpHandler,
                 std::optional<TlsCredentials> tls, QObject* parent)
    : QObject(parent)
    , config_(config)
    , hub_(hub)
    , batcher_(batcher)
    , workers_(workers)
    , auth_(auth)
    , httpHandler_(std::move(httpHandler))
    , origins_(config.allowedOrigins, config.devMode)
    , limiter_(limiterSettings(config)) {
    // QTcpServer stops accepting once 30 connections wait to be fetched: drained at once below.
    server_.setMaxPendingConnections(4096);
    server_.setListenBacklogSize(config_.listenBacklog);
    connect(&server_, &QTcpServer::pendingConnectionAvailable, this, &Gateway::acceptPending);
    pruneTimer_.setInterval(SourceLimiter::kFailureWindowMs);
    connect(&pruneTimer_, &QTimer::timeout, this, [this] { limiter_.prune(hub_.nowMs()); });
    pruneTimer_.start();
    if (!tls)
        return;
    server_.setHandshakeTimeout(config_.handshakeTimeoutMs);
    connect(&server_, &Listener::encrypted, this, &Gateway::adopt);
    connect(&server_, &Listener::handshakeFailed, this,
            [this](QSslSocket* socket, const QString& why) {
                hub_.metrics().tlsHandshakeFailures++;
                qCDebug(lcGateway).noquote()
                    << "TLS handshake with" << socket->peerAddress().toString() << "failed:" << why;
            });
    useCredentials(std::move(*tls), "in use");
    // A certificate that nobody renews must be noticed before clients start refusing it.
    expiryTimer_.setInterval(24 * 3600 * 1000);
    connect(&expiryTimer_, &QTimer::timeout, this, &Gateway::warnIfExpiring);
    expiryTimer_.start();
}

bool Gateway::listen(QString* error) {
    if (server_.listen(config_.listenAddress, config_.listenPort))
        return true;
    *error = QStringLiteral("cannot listen on %1:%2: %3")
                 .arg(config_.listenAddress.toString())
                 .arg(config_.listenPort)
                 .arg(server_.errorString());
    return false;
}

void Gateway::stopAccepting() {
    server_.close();
}

bool Gateway::reloadTls() {
    if (!tls_) {
        qCInfo(lcGateway) << "SIGHUP: TLS is off (no tls_cert), nothing to reload";
        return true;
    }
    auto loaded = TlsCredentials::load(config_, QDateTime::currentDateTimeUtc());
    if (auto* error = std::get_if<QString>(&loaded)) {
        qCCritical(lcGateway).noquote()
            << QStringLiteral("SIGHUP: TLS certificate not reloaded (%1); still serving %2")
                   .arg(*error, tls_->describe());
        return false;
    }
    useCredentials(std::get<TlsCredentials>(std::move(loaded)), "reloaded, now in use");
    return true;
}

void Gateway::useCredentials(TlsCredentials credentials, const char* what) {
    tls_ = std::move(credentials);
    server_.setTlsConfiguration(tls_->configuration());
    hub_.metrics().tlsCertificateExpiry = tls_->certificate().expiryDate().toSecsSinceEpoch();
    qCInfo(lcGateway).noquote()
        << QStringLiteral("TLS certificate %1: %2").arg(QLatin1String(what), tls_->describe());
    warnIfExpiring();
}

void Gateway::warnIfExpiring() {
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (!tls_ || !tls_->expiresWithin(TlsCredentials::kExpiryWarningDays, now))
        return;
    const QDateTime expiry = tls_->certificate().expiryDate();
    qCWarning(lcGateway).noquote()
        << QStringLiteral("TLS certificate expires on %1 (in %2 days): renew tls_cert and tls_key, "
                          "then send SIGHUP")
               .arg(expiry.toUTC().toString(Qt::ISODate))
               .arg(double(now.secsTo(expiry)) / 86400.0, 0, 'f', 1);
}

void Gateway::acceptPending() {
    while (QTcpSocket* socket = server_.nextPendingConnection())
        adopt(socket);
}

void Gateway::adopt(QTcpSocket* socket) {
    const HttpConnection::Limits limits{kMaxHttpHeadBytes, config_.maxHttpBodyBytes,
                                        config_.handshakeTimeoutMs};
    // Server-side sockets do not get TCP_NODELAY by default; small frames must not wait.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    auto* connection = new HttpConnection(socket, limits, this);
    socket->setParent(connection);
    connect(connection, &HttpConnection::requestReady, this,
            [this, c = QPointer<HttpConnection>(connection)](const HttpRequest& request) {
                httpHandler_(request, [c](const HttpResponse& response) {
                    if (c)
                        c->respond(response);
                });
            });
    connect(connection, &HttpConnection::protocolError, this,
            [this](ErrorCode code) { hub_.metrics().countError(code); });
    connect(connection, &HttpConnection::upgradeRequested, this,
            [this, connection](const HttpRequest& request) {
                onUpgradeRequested(connection, request);
            });
}

void Gateway::onUpgradeRequested(HttpConnection* connection, const HttpRequest& request) {
    const auto endpoint = endpointForPath(request.path);
    if (!endpoint) {
        connection->respond(HttpResponse::error(
            404, {ErrorCode::NotFound, QStringLiteral("no WebSocket endpoint at %1 (use /public, "
                                                      "/private or /admin)")
                                           .arg(request.path)}));
        return;
    }
    if (auto problem = handshakeProblem(request)) {
        hub_.metrics().countRefusal(RefusalReason::BadHandshake);
        connection->respond(*problem);
        return;
    }
    // A page from another site must not open a connection on its visitor's behalf. Answered
    // with a plain 403: there is nothing the foreign page should be able to read.
    if (!origins_.allows(request.header("origin"), request.header("host"))) {
        hub_.metrics().countRefusal(RefusalReason::Origin);
        qCInfo(lcGateway).noquote() << "refused origin" << request.header("origin") << "from"
                                    << request.peer.toString() << request.path;
        connection->respond(
            HttpResponse::error(403, {ErrorCode::Forbidden, QStringLiteral("origin not allowed")}));
        return;
    }
    if (auto refusal = admissionRefusal(request)) {
        refuse(connection, request, refusal->first, refusal->second);
        return;
    }
    auto identity = auth_.authenticateClient(*endpoint, request.query, request.bearerToken(),
                                             request.peer, QDateTime::currentSecsSinceEpoch());
    if (auto* error = std::get_if<Error>(&identity)) {
        limiter_.authFailed(request.peer, hub_.nowMs());
        hub_.metrics().countRefusal(RefusalReason::Unauthorized);
        refuse(connection, request, close_code::kUnauthorized, *error);
        return;
    }
    accept(connection, request, std::get<Identity>(std::move(identity)));
}

std::optional<std::pair<int, Error>> Gateway::admissionRefusal(const HttpRequest& request) {
    if (draining_) {
        hub_.metrics().countRefusal(RefusalReason::Draining);
        return std::pair{close_code::kServiceRestart,
                         Error{ErrorCode::Unavailable,
                               QStringLiteral("node is draining; reconnect to another node")}};
    }
    // Every open connection, admins included: each costs a socket and buffers all the same.
    if (hub_.openConnections() >= config_.maxConnections) {
        hub_.metrics().countRefusal(RefusalReason::Full);
        return std::pair{close_code::kTryAgainLater,
                         Error{ErrorCode::Unavailable,
                               QStringLiteral("node is full (%1 connections); reconnect to "
                                              "another node or later")
                                   .arg(config_.maxConnections)}};
    }
    const auto decision = limiter_.admit(request.peer, hub_.nowMs());
    using Verdict = SourceLimiter::Verdict;
    if (decision.verdict == Verdict::Allow)
        return std::nullopt;
    QString why;
    switch (decision.verdict) {
    case Verdict::TooManyConnections:
        hub_.metrics().countRefusal(RefusalReason::AddressConnections);
        why = QStringLiteral("too many connections from your address (at most %1)")
                  .arg(config_.ipMaxConnections);
        break;
    case Verdict::TooFast:
        hub_.metrics().countRefusal(RefusalReason::AddressRate);
        why = QStringLiteral("too many new connections from your address (at most %1 per second)")
                  .arg(config_.ipConnectRate);
        break;
    default:
        hub_.metrics().countRefusal(RefusalReason::AuthBackoff);
        why = QStringLiteral("too many failed authentications from your address");
        break;
    }
    return std::pair{
        close_code::kRateLimited,
        Error{ErrorCode::RateLimited,
              why + QStringLiteral("; retry in %1 s").arg(decision.retryAfterSeconds)}};
}

void Gateway::accept(HttpConnection* connection, const HttpRequest& request, Identity identity) {
    auto [socket, firstBytes] = connection->takeUpgrade();
    QByteArray handshake = ws::handshakeResponse(request.header("sec-websocket-key"));
    std::unique_ptr<ClientTransport> transport;
    std::function<void(WebSocketTransport::Handlers)> start;
    if (workers_) {
        auto adopted = workers_->adopt(socket, std::move(handshake), std::move(firstBytes),
                                       config_.maxOutboundBytes);
        transport = std::move(adopted.transport);
        start = std::move(adopted.start);
    } else {
        std::unique_ptr<WebSocketTransport> inThisThread;
        if (qobject_cast<QSslSocket*>(socket)) {
            inThisThread = std::make_unique<WebSocketConnection>(
                socket, batcher_, std::move(handshake), std::move(firstBytes),
                config_.maxMessageBytes);
        } else {
            // A plain connection sheds its QTcpSocket: see RawWebSocketConnection.
            const int fd = RawWebSocketConnection::takeDescriptor(socket, firstBytes);
            inThisThread = std::make_unique<RawWebSocketConnection>(
                fd, batcher_, std::move(handshake), std::move(firstBytes), config_.maxMessageBytes);
        }
        start = [raw = inThisThread.get()](WebSocketTransport::Handlers handlers) {
            raw->start(std::move(handlers));
        };
        transport = std::move(inThisThread);
    }
    Session* session = hub_.attach(std::move(identity), std::move(transport));
    const quint64 id = session->id();
    const QHostAddress peer = request.peer;
    limiter_.opened(peer);
    Hub* hub = &hub_;
    start({
        .text =
            [hub, id](const QByteArray& text) {
                if (Session* s = hub->session(id))
                    s->onText(text, hub->nowMs());
            },
        .binary =
            [hub, id] {
                if (Session* s = hub->session(id))
                    s->onBinary(hub->nowMs());
            },
        .activity =
            [hub, id] {
                if (Session* s = hub->session(id))
                    s->onActivity(hub->nowMs());
            },
        .closed =
            [this, hub, id, peer] {
                limiter_.closed(peer);
                hub->detach(id);
            },
    });
}

void Gateway::refuse(HttpConnection* connection, const HttpRequest& request, int closeCode,
                     const Error& error) {
    // Accept-then-close lets every client, browsers included, read why: the error event and the
    // close code and reason. An HTTP status on the handshake would be hidden from a browser.
    hub_.metrics().connectionsRefused++;
    hub_.metrics().countError(error.code);
    qCInfo(lcGateway).noquote() << "refused" << request.peer.toString() << request.path << ":"
                                << error.message;
    connection->refuseUpgrade(ws::handshakeResponse(request.header("sec-websocket-key")) +
                              Frame::text(codec::encode(ErrorEvent{error, {}})).bytes() +
                              ws::encodeClose(closeCode, error.message.toUtf8()));
}

} // namespace herald

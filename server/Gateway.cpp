#include "server/Gateway.h"

#include "server/Hub.h"
#include "server/WebSocketTransport.h"
#include "shared/Codec.h"
#include "shared/Limits.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

Q_LOGGING_CATEGORY(lcGateway, "herald.gateway")

namespace herald {

Gateway::Gateway(const Config& config, Hub& hub, const Authenticator& auth, HttpHandler httpHandler,
                 QObject* parent)
    : QObject(parent)
    , config_(config)
    , hub_(hub)
    , auth_(auth)
    , httpHandler_(std::move(httpHandler))
    , webSockets_(QStringLiteral("herald"), QWebSocketServer::NonSecureMode) {
    // QTcpServer stops accepting once 30 connections wait to be fetched, and QWebSocketServer
    // queues at most 30 finished handshakes: both are drained at once below, with high limits.
    server_.setMaxPendingConnections(4096);
    server_.setListenBacklogSize(config_.listenBacklog);
    webSockets_.setMaxPendingConnections(4096);
    webSockets_.setHandshakeTimeout(std::chrono::milliseconds(config_.handshakeTimeoutMs));
    connect(&server_, &QTcpServer::pendingConnectionAvailable, this, &Gateway::acceptPending);
    connect(&webSockets_, &QWebSocketServer::newConnection, this, &Gateway::onWebSocketReady);
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

void Gateway::stopAccepting() { server_.close(); }

void Gateway::acceptPending() {
    const HttpConnection::Limits limits{kMaxHttpHeadBytes, config_.maxHttpBodyBytes,
                                        config_.handshakeTimeoutMs};
    while (QTcpSocket* socket = server_.nextPendingConnection()) {
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
        connect(connection, &HttpConnection::upgradeRequested, this,
                [this, connection](const HttpRequest& request) { onUpgradeRequested(connection, request); });
    }
}

void Gateway::onUpgradeRequested(HttpConnection* connection, const HttpRequest& request) {
    if (!endpointForPath(request.path)) {
        connection->respond(HttpResponse::error(
            404, {ErrorCode::NotFound, QStringLiteral("no WebSocket endpoint at %1 (use /public, "
                                                      "/private or /admin)").arg(request.path)}));
        return;
    }
    if (hub_.connectionCount() + upgrading_ >= config_.maxConnections) {
        hub_.metrics().connectionsRefused++;
        hub_.metrics().countError(ErrorCode::Unavailable);
        HttpResponse full = HttpResponse::error(
            503, {ErrorCode::Unavailable, QStringLiteral("node is full (%1 connections); retry "
                                                         "another node or later").arg(config_.maxConnections)});
        full.headers.append(qMakePair(QByteArray("Retry-After"), QByteArray("5")));
        connection->respond(full);
        return;
    }
    QTcpSocket* socket = connection->takeSocket();
    ++upgrading_;
    connect(socket, &QObject::destroyed, this, [this] { --upgrading_; });
    webSockets_.handleConnection(socket);
}

void Gateway::onWebSocketReady() {
    while (QWebSocket* ws = webSockets_.nextPendingConnection()) {
        ws->setParent(nullptr);
        ws->setMaxAllowedIncomingMessageSize(static_cast<quint64>(config_.maxMessageBytes));
        ws->setMaxAllowedIncomingFrameSize(static_cast<quint64>(config_.maxMessageBytes));
        const QUrl url = ws->requestUrl();
        const auto endpoint = endpointForPath(url.path());
        QByteArray bearer = ws->request().rawHeader("Authorization").trimmed();
        bearer = bearer.toLower().startsWith("bearer ") ? bearer.mid(7).trimmed() : QByteArray();
        auto identity = auth_.authenticateClient(endpoint.value_or(Endpoint::Public), QUrlQuery(url), bearer,
                                                 ws->peerAddress(), QDateTime::currentSecsSinceEpoch());
        if (auto* error = std::get_if<Error>(&identity)) {
            // Accept-then-close lets a browser read why (close code 4001 and the reason), which
            // an HTTP 401 on the handshake would hide from it.
            hub_.metrics().connectionsRefused++;
            hub_.metrics().countError(error->code);
            qCInfo(lcGateway) << "refused" << ws->peerAddress().toString() << url.path() << ":" << error->message;
            ws->sendTextMessage(QString::fromUtf8(codec::encode(ErrorEvent{*error, {}})));
            ws->close(static_cast<QWebSocketProtocol::CloseCode>(close_code::kUnauthorized),
                      error->message.left(120));
            connect(ws, &QWebSocket::disconnected, ws, &QObject::deleteLater);
            QTimer::singleShot(WebSocketTransport::kCloseTimeoutMs, ws, [ws] { ws->abort(); });
            continue;
        }
        Session* session = hub_.attach(std::get<Identity>(identity), std::make_unique<WebSocketTransport>(ws));
        const quint64 id = session->id();
        Hub* hub = &hub_;
        auto now = [hub] { return hub->nowMs(); };
        connect(ws, &QWebSocket::textMessageReceived, ws, [hub, id, now](const QString& text) {
            if (Session* s = hub->session(id))
                s->onText(text.toUtf8(), now());
        });
        connect(ws, &QWebSocket::binaryMessageReceived, ws, [hub, id, now](const QByteArray&) {
            if (Session* s = hub->session(id))
                s->onBinary(now());
        });
        connect(ws, &QWebSocket::pong, ws, [hub, id, now](quint64, const QByteArray&) {
            if (Session* s = hub->session(id))
                s->onActivity(now());
        });
        connect(ws, &QWebSocket::disconnected, ws, [hub, id] { hub->detach(id); });
    }
}

} // namespace herald

#include "console/ctl/TailCommand.h"

#include "console/ctl/Terminal.h"
#include "shared/Codec.h"
#include "shared/Limits.h"
#include "shared/Streams.h"
#include "shared/Version.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkRequest>
#include <QUrlQuery>

namespace herald::ctl {
namespace {

constexpr int kCloseWaitMs = 1000;

QString compactValue(const QJsonValue& value) {
    // QJsonDocument holds only objects and arrays: write [value] and drop the brackets.
    const QByteArray text = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

QString secondsText(int ms) {
    return ms % 1000 == 0 ? QString::number(ms / 1000) : QString::number(ms / 1000.0, 'g', 4);
}

} // namespace

QString TailCommand::endpointFor(const Options& options) {
    if (!options.jwt.isEmpty())
        return QStringLiteral("/private");
    if (!options.token.isEmpty())
        return QStringLiteral("/admin");
    return QStringLiteral("/public");
}

TailCommand::TailCommand(Options options, QObject* parent)
    : QObject(parent)
    , options_(std::move(options)) {
    endpoint_ = endpointFor(options_);
    url_ = serverurl::webSocket(options_.server, endpoint_);
    where_ = url_.toString();
    const QByteArray credential = endpoint_ == QLatin1String("/private") ? options_.jwt
                                  : endpoint_ == QLatin1String("/admin") ? options_.token
                                                                         : QByteArray();
    if (!credential.isEmpty()) {
        // Percent-encoded here so that '&', '+', '%' or '=' in a token survive the query.
        QUrlQuery query;
        query.addQueryItem(QStringLiteral("token"), QString::fromLatin1(QUrl::toPercentEncoding(
                                                        QString::fromUtf8(credential))));
        url_.setQuery(query);
    }

    setupTimer_.setSingleShot(true);
    closeTimer_.setSingleShot(true);
    connect(&setupTimer_, &QTimer::timeout, this, &TailCommand::onSetupTimeout);
    connect(&closeTimer_, &QTimer::timeout, this, [this] {
        socket_.abort();
        emitFinished();
    });
    connect(&socket_, &QWebSocket::connected, this, [this] { connected_ = true; });
    connect(&socket_, &QWebSocket::textMessageReceived, this, &TailCommand::onText);
    connect(&socket_, &QWebSocket::disconnected, this, &TailCommand::onDisconnected);
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    connect(&socket_, &QWebSocket::errorOccurred, this, &TailCommand::onSocketError);
#else
    connect(&socket_, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &TailCommand::onSocketError);
#endif
}

void TailCommand::start() {
    setupTimer_.start(options_.timeoutMs);
    QNetworkRequest request(url_);
    request.setHeader(QNetworkRequest::UserAgentHeader,
                      QStringLiteral("heraldctl/%1").arg(QLatin1String(kVersion)));
    socket_.open(request);
}

void TailCommand::interrupt() {
    finish(kExitOk);
}

void TailCommand::onText(const QString& text) {
    if (finishing_)
        return;
    const QByteArray frame = text.toUtf8();
    auto decoded = codec::decodeServerMessage(frame);
    if (auto* error = std::get_if<Error>(&decoded)) {
        if (error->code == ErrorCode::UnknownEvent)
            return; // a newer server's event: not ours to judge
        return finish(kExitRefused,
                      QStringLiteral("malformed frame from %1: %2").arg(where_, error->message));
    }
    const QJsonObject event = QJsonDocument::fromJson(frame).object();
    const ServerMessage& message = std::get<ServerMessage>(decoded);
    if (std::holds_alternative<WelcomeEvent>(message)) {
        socket_.sendTextMessage(
            QString::fromUtf8(codec::encode(SubscribeRequest{{options_.args[0]}, {}})));
    } else if (const auto* subscribed = std::get_if<SubscribedEvent>(&message)) {
        if (subscribed_ || subscribed->streams.isEmpty())
            return;
        subscribed_ = true;
        key_ = subscribed->streams.first();
        setupTimer_.stop();
        printErrRaw(QStringLiteral("subscribed to %1").arg(key_));
    } else if (const auto* delivered = std::get_if<MessageEvent>(&message)) {
        if (subscribed_ && delivered->stream == key_)
            print(event, delivered->data);
    } else if (std::holds_alternative<SystemEvent>(message)) {
        // Every connection receives system messages; show them only when they were asked for.
        if (subscribed_ && key_ == streams::kSystemKey)
            print(event, event.value(QLatin1String("data")));
    } else if (const auto* online = std::get_if<OnlineEvent>(&message)) {
        if (subscribed_ && key_ == streams::kOnlineKey)
            print(event, QJsonObject{{QStringLiteral("connections"), online->connections},
                                     {QStringLiteral("users"), online->users}});
    } else if (std::holds_alternative<ErrorEvent>(message)) {
        onServerError(event);
    }
}

void TailCommand::onServerError(const QJsonObject& event) {
    const QString code = event.value(QLatin1String("code")).toString(QStringLiteral("error"));
    QString text =
        QStringLiteral("%1: %2").arg(code, event.value(QLatin1String("message")).toString());
    const QString stream = event.value(QLatin1String("stream")).toString();
    if (!stream.isEmpty() && !text.contains(stream))
        text += QStringLiteral(" (stream \"%1\")").arg(stream);
    finish(kExitRefused, text);
    if (code == QLatin1String("unauthorized") && endpoint_ == QLatin1String("/admin") &&
        options_.tokenSource == QLatin1String("$HERALD_API_TOKEN"))
        printErrRaw(QStringLiteral(
                        "hint: the token came from $HERALD_API_TOKEN, but %1 needs an admin token; "
                        "pass --token or set HERALD_ADMIN_TOKEN (--token \"\" tails public streams "
                        "anonymously)")
                        .arg(endpoint_));
    else if (code == QLatin1String("forbidden") && endpoint_ == QLatin1String("/public"))
        printErrRaw(QStringLiteral(
            "hint: private streams need --jwt TOKEN (the user's own) or an admin --token"));
}

void TailCommand::print(const QJsonObject& event, const QJsonValue& data) {
    if (finishing_)
        return;
    printOut(options_.json ? QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact))
                           : compactValue(data));
    ++printed_;
    if (options_.count > 0 && printed_ >= options_.count)
        finish(kExitOk);
}

void TailCommand::onDisconnected() {
    if (finishing_)
        return emitFinished();
    if (!connected_)
        return finish(kExitUnreachable,
                      QStringLiteral("cannot reach %1: %2").arg(where_, socket_.errorString()));
    const int code = socket_.closeCode();
    const QString reason = socket_.closeReason();
    QString text = QStringLiteral("the server closed the connection (close code %1%2)")
                       .arg(code)
                       .arg(reason.isEmpty() ? QString() : QStringLiteral(": ") + reason);
    if (code == close_code::kServiceRestart || code == close_code::kGoingAway)
        text += QStringLiteral("; the node is going away, try again or another node");
    finish(kExitRefused, text);
}

void TailCommand::onSocketError(QAbstractSocket::SocketError error) {
    Q_UNUSED(error);
    if (finishing_ || connected_)
        return; // after the handshake, the disconnect that follows tells the story
    QString detail = socket_.errorString();
    if (detail.startsWith(QLatin1String("QWebSocketPrivate::")))
        detail = detail.section(QStringLiteral(": "), 1); // Qt names its internals in the text
    // A refused handshake (an HTTP answer other than 101) arrives as an error too, but the server
    // did answer: that is a refusal, not an unreachable server.
    if (detail.contains(QLatin1String("status code"), Qt::CaseInsensitive) ||
        detail.contains(QLatin1String("handshake"), Qt::CaseInsensitive))
        return finish(
            kExitRefused,
            QStringLiteral("%1 refused the WebSocket connection: %2").arg(where_, detail));
    finish(kExitUnreachable, QStringLiteral("cannot reach %1: %2").arg(where_, detail));
}

void TailCommand::onSetupTimeout() {
    if (!connected_)
        return finish(kExitUnreachable, QStringLiteral("no answer from %1 within %2 s")
                                            .arg(where_, secondsText(options_.timeoutMs)));
    finish(kExitUnreachable,
           QStringLiteral("%1 did not confirm the subscription to \"%2\" within %3 s")
               .arg(where_, options_.args[0], secondsText(options_.timeoutMs)));
}

void TailCommand::finish(int exitCode, const QString& message) {
    if (finishing_)
        return;
    finishing_ = true;
    exitCode_ = exitCode;
    setupTimer_.stop();
    if (!message.isEmpty())
        printError(message);
    if (connected_ && socket_.state() == QAbstractSocket::ConnectedState) {
        socket_.close(QWebSocketProtocol::CloseCodeNormal);
        closeTimer_.start(kCloseWaitMs);
        return;
    }
    if (socket_.state() != QAbstractSocket::UnconnectedState)
        socket_.abort();
    // Queued: finish() may run inside a socket signal, and the caller may end the loop at once.
    QTimer::singleShot(0, this, &TailCommand::emitFinished);
}

void TailCommand::emitFinished() {
    if (emitted_)
        return;
    emitted_ = true;
    closeTimer_.stop();
    Q_EMIT finished(exitCode_);
}

} // namespace herald::ctl

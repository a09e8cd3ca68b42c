#include "console/ctl/TailCommand.h"

#include "console/ctl/Commands.h"
#include "console/ctl/Terminal.h"
#include "shared/Codec.h"
#include "shared/Limits.h"
#include "shared/Streams.h"
#include "shared/Version.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace herald::ctl {
namespace {

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
    url_ = client::NodeSocket::urlFor(options_.server, endpoint_);
    where_ = url_.toString();
    credential_ = endpoint_ == QLatin1String("/private") ? options_.jwt
                  : endpoint_ == QLatin1String("/admin") ? options_.token
                                                         : QByteArray();
    socket_.setUserAgent(QStringLiteral("heraldctl/%1").arg(QLatin1String(kVersion)));
    setupTimer_.setSingleShot(true);
    connect(&setupTimer_, &QTimer::timeout, this, &TailCommand::onSetupTimeout);
    connect(&socket_, &client::NodeSocket::opened, this, [this] { connected_ = true; });
    connect(&socket_, &client::NodeSocket::received, this, &TailCommand::onMessage);
    connect(&socket_, &client::NodeSocket::undecodable, this, &TailCommand::onUndecodable);
    connect(&socket_, &client::NodeSocket::ended, this, &TailCommand::onEnded);
}

void TailCommand::start() {
    setupTimer_.start(options_.timeoutMs);
    socket_.open(url_, credential_);
}

void TailCommand::interrupt() {
    finish(kExitOk);
}

void TailCommand::onUndecodable(const Error& error) {
    if (finishing_ || error.code == ErrorCode::UnknownEvent)
        return; // a newer server's event: not ours to judge
    finish(kExitRefused, QStringLiteral("malformed frame from %1: %2").arg(where_, error.message));
}

void TailCommand::onMessage(const ServerMessage& message, const QByteArray& frame) {
    if (finishing_)
        return;
    const QJsonObject event = QJsonDocument::fromJson(frame).object();
    if (std::holds_alternative<WelcomeEvent>(message)) {
        socket_.send(codec::encode(ClientMessage{SubscribeRequest{{options_.args[0]}, {}}}));
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
    } else if (const auto* withdrawn = std::get_if<WithdrawnEvent>(&message)) {
        if (subscribed_ && key_ == streams::kSystemKey)
            print(event, QJsonObject{{QStringLiteral("withdrawn"), withdrawn->id}});
    } else if (const auto* online = std::get_if<OnlineEvent>(&message)) {
        if (subscribed_ && key_ == streams::kOnlineKey)
            print(event, QJsonObject{{QStringLiteral("connections"), online->connections},
                                     {QStringLiteral("users"), online->users}});
    } else if (const auto* error = std::get_if<ErrorEvent>(&message)) {
        onServerError(*error);
    }
}

void TailCommand::onServerError(const ErrorEvent& event) {
    const QString code = errorCodeName(event.error.code);
    QString text = QStringLiteral("%1: %2").arg(code, event.error.message);
    if (!event.stream.isEmpty() && !text.contains(event.stream))
        text += QStringLiteral(" (stream \"%1\")").arg(event.stream);
    finish(kExitRefused, text);
    if (code == QLatin1String("unauthorized") && endpoint_ == QLatin1String("/admin"))
        printAdminTokenHint(options_);
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

void TailCommand::onEnded(const client::Ending& ending) {
    ended_ = true;
    if (finishing_)
        return emitFinished();
    finish(exitCodeFor(ending), ending.describe(where_));
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
    if (!ended_)
        return socket_.close(); // its ended() (after the close handshake, bounded) finishes
    // Queued: finish() may run inside a socket signal, and the caller may end the loop at once.
    QTimer::singleShot(0, this, &TailCommand::emitFinished);
}

void TailCommand::emitFinished() {
    if (emitted_)
        return;
    emitted_ = true;
    Q_EMIT finished(exitCode_);
}

} // namespace herald::ctl

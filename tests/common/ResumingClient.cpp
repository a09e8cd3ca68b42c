#include "tests/common/ResumingClient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>

namespace herald::test {
namespace {
// An attempt that has not been answered by then is abandoned, as herald.js's timeouts do.
constexpr int kAttemptTimeoutMs = 10'000;
} // namespace

ResumingClient::ResumingClient(QUrl url, QString stream, QObject* parent)
    : QObject(parent)
    , url_(std::move(url))
    , stream_(std::move(stream))
    , key_(QStringLiteral("public.") + stream_) {
    retry_.setSingleShot(true);
    connect(&retry_, &QTimer::timeout, this, &ResumingClient::connectNow);
    watchdog_.setSingleShot(true);
    connect(&watchdog_, &QTimer::timeout, this, [this] { lose(); });
}

ResumingClient::~ResumingClient() {
    if (socket_) {
        socket_->disconnect(this);
        socket_->abort();
    }
}

void ResumingClient::start() {
    running_ = true;
    connectNow();
}

void ResumingClient::stop() {
    running_ = false;
    retry_.stop();
    watchdog_.stop();
    if (socket_)
        socket_->close();
}

QAbstractSocket::SocketState ResumingClient::socketState() const {
    return socket_ ? socket_->state() : QAbstractSocket::UnconnectedState;
}

void ResumingClient::connectNow() {
    if (!running_)
        return;
    ++attempts_;
    // A new socket per attempt, as a browser's WebSocket: nothing of the last one carries over.
    if (socket_) {
        socket_->disconnect(this);
        socket_->abort();
        socket_.release()->deleteLater();
    }
    socket_ = std::make_unique<QWebSocket>();
    QWebSocket* socket = socket_.get();
    connect(socket, &QWebSocket::textMessageReceived, this, &ResumingClient::onText);
    connect(socket, &QWebSocket::disconnected, this, &ResumingClient::lose);
    // A refused handshake may end with an error alone (errorOccurred only exists from Qt 6.5).
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this, socket] {
                if (socket->state() == QAbstractSocket::UnconnectedState)
                    lose();
            });
    connect(socket, &QWebSocket::connected, this, [this, socket] {
        QJsonObject request{{QStringLiteral("event"), QStringLiteral("subscribe")},
                            {QStringLiteral("streams"), QJsonArray{stream_}}};
        if (haveResumePoint_)
            request.insert(QStringLiteral("since"), QJsonObject{{stream_, resumeFrom_}});
        socket->sendTextMessage(
            QString::fromUtf8(QJsonDocument(request).toJson(QJsonDocument::Compact)));
    });
    watchdog_.start(kAttemptTimeoutMs);
    socket->open(url_);
}

void ResumingClient::onText(const QString& text) {
    const QJsonObject event = QJsonDocument::fromJson(text.toUtf8()).object();
    const QString name = event.value(QLatin1String("event")).toString();
    if (name == QLatin1String("message") &&
        event.value(QLatin1String("stream")).toString() == key_) {
        const QString id = event.value(QLatin1String("id")).toString();
        received_.append({id, event.value(QLatin1String("data")).toInt()});
        resumeFrom_ = id;
        haveResumePoint_ = true;
    } else if (name == QLatin1String("subscribed")) {
        ++subscriptions_;
        watchdog_.stop();
        const QJsonValue recovered = event.value(QLatin1String("recovered")).toObject().value(key_);
        if (recovered.isBool() && !recovered.toBool())
            ++unrecovered_;
        // A fresh subscription's position is where to resume from until a message moves it on.
        // After a resume it is not: the replay up to it follows the answer, and a disconnect
        // in the middle must resume from the last message received, not skip the rest.
        const QJsonValue position = event.value(QLatin1String("positions")).toObject().value(key_);
        if (position.isString() && recovered.isUndefined()) {
            resumeFrom_ = position.toString();
            haveResumePoint_ = true;
        }
    } else if (name == QLatin1String("welcome")) {
        node_ = event.value(QLatin1String("node")).toString();
    } else if (name == QLatin1String("error")) {
        ++errors_;
    }
}

void ResumingClient::lose() {
    watchdog_.stop();
    if (!running_ || retry_.isActive())
        return; // an error and a disconnect may both report one loss
    if (socket_ && socket_->state() != QAbstractSocket::UnconnectedState)
        socket_->abort();
    // Spread, as herald.js's backoff does: a node's clients do not all return at once.
    retry_.start(100 + QRandomGenerator::global()->bounded(300));
}

} // namespace herald::test

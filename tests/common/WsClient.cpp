#include "tests/common/WsClient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

namespace herald::test {

WsClient::WsClient(QObject* parent)
    : QObject(parent) {
    connect(&socket_, &QWebSocket::textMessageReceived, this, [this](const QString& text) {
        events_.append(QJsonDocument::fromJson(text.toUtf8()).object());
    });
    connect(&socket_, &QWebSocket::disconnected, this, [this] {
        closed_ = true;
        closeCode_ = socket_.closeCode();
        closeReason_ = socket_.closeReason();
    });
}

bool WsClient::open(const QUrl& url, int timeoutMs) {
    socket_.open(url);
    return QTest::qWaitFor([this] { return !events_.isEmpty() || closed_; }, timeoutMs) &&
           !events_.isEmpty() &&
           events_.first().value(QLatin1String("event")) == QLatin1String("welcome");
}

void WsClient::send(const QByteArray& text) {
    socket_.sendTextMessage(QString::fromUtf8(text));
}

void WsClient::sendJson(const QJsonObject& object) {
    send(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

void WsClient::subscribe(const QStringList& streams) {
    sendJson({{QStringLiteral("event"), QStringLiteral("subscribe")},
              {QStringLiteral("streams"), QJsonArray::fromStringList(streams)}});
}

QJsonObject WsClient::waitFor(const QString& event, int timeoutMs, int from) {
    QJsonObject found;
    (void)QTest::qWaitFor(
        [&] {
            for (int i = from; i < events_.size(); ++i) {
                if (events_[i].value(QLatin1String("event")).toString() == event) {
                    found = events_[i];
                    return true;
                }
            }
            return false;
        },
        timeoutMs);
    return found;
}

QList<QJsonObject> WsClient::eventsOf(const QString& event) const {
    QList<QJsonObject> out;
    for (const QJsonObject& e : events_)
        if (e.value(QLatin1String("event")).toString() == event)
            out.append(e);
    return out;
}

int WsClient::messagesOn(const QString& stream) const {
    int n = 0;
    for (const QJsonObject& e : eventsOf(QStringLiteral("message")))
        n += e.value(QLatin1String("stream")).toString() == stream;
    return n;
}

bool WsClient::waitForClosed(int timeoutMs) {
    return QTest::qWaitFor([this] { return closed_; }, timeoutMs);
}

} // namespace herald::test

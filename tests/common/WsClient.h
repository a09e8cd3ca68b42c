#pragma once

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QUrl>
#include <QWebSocket>
#include <functional>

namespace herald::test {

// A real WebSocket client that records every event it receives, for integration tests.
class WsClient : public QObject {
    Q_OBJECT
public:
    explicit WsClient(QObject* parent = nullptr);

    // Opens and waits for the welcome event (or the close, for refused connections).
    bool open(const QUrl& url, int timeoutMs = 10000);
    void send(const QByteArray& text);
    void sendJson(const QJsonObject& object);
    void subscribe(const QStringList& streams);

    // Waits until an event with "event" == name arrives after index `from`; returns it or {}.
    QJsonObject waitFor(const QString& event, int timeoutMs = 10000, int from = 0);
    // Events of one kind received so far.
    QList<QJsonObject> eventsOf(const QString& event) const;
    // How many "message" events of `stream` (a routing key) arrived.
    int messagesOn(const QString& stream) const;
    bool waitForClosed(int timeoutMs = 10000);

    const QList<QJsonObject>& events() const { return events_; }
    bool isOpen() const { return socket_.state() == QAbstractSocket::ConnectedState; }
    int closeCode() const { return closeCode_; }
    QString closeReason() const { return closeReason_; }
    QWebSocket& socket() { return socket_; }

private:
    QList<QJsonObject> events_;
    int closeCode_ = -1;
    QString closeReason_;
    bool closed_ = false;
    // Last, so destroyed first: destroying an open QWebSocket closes it and emits disconnected,
    // whose handler writes the members above; declared first, it wrote into a destroyed
    // closeReason_ and leaked the string (LeakSanitizer, sanitizer build).
    QWebSocket socket_;
};

} // namespace herald::test

#pragma once

#include "shared/Admin.h"

#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

namespace herald::console {

// The console's one connection to a node's /admin WebSocket. It reconnects by itself with a
// capped backoff, because a console is left open all day while nodes restart under it; the only
// exception is a refused credential (close 4001), where retrying the same token cannot help and
// would only fill the server's log.
class AdminClient : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Connecting, Connected, Reconnecting, Refused };
    Q_ENUM(State)

    explicit AdminClient(QObject* parent = nullptr);
    ~AdminClient() override;

    // `server` may be http(s):// or ws(s)://, with or without a path; /admin is used.
    void open(const QUrl& server, const QByteArray& token);
    void close();

    State state() const { return state_; }
    // A readable line for the status bar ("connected to n1 at ws://…", "admin token refused…").
    QString stateText() const { return stateText_; }
    QUrl adminUrl() const { return url_; }
    QString nodeId() const { return nodeId_; }
    bool isConnected() const { return state_ == State::Connected; }

    // Sends one command; false (and nothing sent) while not connected.
    bool send(const admin::AdminCommand& command);
    // Sends a broadcast with a fresh request id; returns the command as sent (empty id: not sent).
    admin::BroadcastCommand broadcast(const admin::Target& target, const SystemNotice& notice);

    // Backoff bounds, public so tests can make restarts quick.
    void setBackoff(int firstMs, int maxMs);

    static QUrl adminUrlFor(const QUrl& server);

Q_SIGNALS:
    void stateChanged(herald::console::AdminClient::State state, const QString& text);
    void welcomed(const QString& node);
    void snapshotReceived(const herald::admin::ClusterSnapshot& snapshot);
    void broadcastReportReceived(const herald::admin::BroadcastReport& report);
    void streamsReceived(const herald::admin::StreamsReport& report);
    void auditReceived(const herald::admin::AuditReport& report);
    void ackReceived(const herald::admin::Ack& ack);
    void messageReceived(const herald::MessageEvent& message); // tail
    void serverError(const QString& code, const QString& message);

private:
    void connectNow();
    void onConnected();
    void onDisconnected();
    void onText(const QString& text);
    void setState(State state, const QString& text);
    void scheduleReconnect();

    QWebSocket socket_;
    QTimer retry_;
    QTimer watchdog_;  // no frame at all for this long: the node hangs; drop and reconnect
    QTimer keepalive_; // pings while connected, so a quiet but healthy node still answers
    QUrl url_;
    QByteArray token_;
    State state_ = State::Idle;
    QString stateText_;
    QString nodeId_;
    QString lastRefusal_;
    int firstBackoffMs_ = 500;
    int maxBackoffMs_ = 10'000;
    int backoffMs_ = 500;
    bool wanted_ = false;
    quint64 nextRequest_ = 1;
};

} // namespace herald::console

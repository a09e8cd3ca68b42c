#pragma once

#include "console/client/NodeSocket.h"
#include "shared/Admin.h"

#include <QObject>
#include <QTimer>
#include <QUrl>

namespace herald::console {

// A connection to a node's /admin WebSocket, for the console and heraldctl. By default it
// reconnects by itself with a capped backoff, because a console is left open all day while nodes
// restart under it; the only exception is a refused credential (close 4001), where retrying the
// same token cannot help and would only fill the server's log. heraldctl turns reconnecting off.
class AdminClient : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Connecting, Connected, Reconnecting, Refused };
    Q_ENUM(State)

    explicit AdminClient(QObject* parent = nullptr);
    ~AdminClient() override;

    // `server` may be http(s):// or ws(s)://, with or without a path; /admin is used.
    void open(const QUrl& server, const QByteArray& token);
    // Drops the connection at once (no close handshake) and stops reconnecting.
    void close();
    // Closes with a close frame, waiting (bounded) for the node's answer, then emits
    // connectionEnded (Local) and goes Idle. For one-shot users such as heraldctl.
    void closeGracefully();

    State state() const { return state_; }
    // A readable line for the status bar ("connected to n1 at ws://…", "admin token refused…").
    QString stateText() const { return stateText_; }
    QUrl adminUrl() const { return url_; }
    QString nodeId() const { return nodeId_; }
    bool isConnected() const { return state_ == State::Connected; }

    // Sends one command; false (and nothing sent) while not connected.
    bool send(const admin::AdminCommand& command);
    // Sends a broadcast with a fresh request id; returns the command as sent (empty id: not sent).
    // ttlMs > 0: a sticky notice (target all), also given to connections opened within ttlMs.
    admin::BroadcastCommand broadcast(const admin::Target& target, const SystemNotice& notice,
                                      qint64 ttlMs = 0);

    // Backoff bounds, public so tests can make restarts quick.
    void setBackoff(int firstMs, int maxMs);
    // false: a lost or failed connection is final (state Idle, connectionEnded tells why).
    void setReconnecting(bool reconnect) { reconnect_ = reconnect; }
    // Sent with every handshake; "herald-console/VERSION" unless set.
    void setUserAgent(const QString& userAgent);

    static QUrl adminUrlFor(const QUrl& server);

Q_SIGNALS:
    void stateChanged(herald::console::AdminClient::State state, const QString& text);
    void welcomed(const QString& node);
    void snapshotReceived(const herald::admin::ClusterSnapshot& snapshot);
    void broadcastReportReceived(const herald::admin::BroadcastReport& report);
    void streamsReceived(const herald::admin::StreamsReport& report);
    void auditReceived(const herald::admin::AuditReport& report);
    void ackReceived(const herald::admin::Ack& ack);
    // The active sticky notices: on connect and whenever they change.
    void stickyReceived(const herald::admin::StickyList& list);
    void messageReceived(const herald::MessageEvent& message); // tail
    void serverError(const QString& code, const QString& message);
    // Every end of a connection (or of an attempt), before the state changes because of it.
    void connectionEnded(const herald::client::Ending& ending);

private:
    void connectNow();
    void onOpened();
    void onEnded(const client::Ending& ending);
    void onMessage(const ServerMessage& message);
    void onAdminEvent(const admin::AdminEvent& event);
    void setState(State state, const QString& text);
    void scheduleReconnect(const QString& why);

    client::NodeSocket socket_;
    QTimer retry_;
    QUrl url_;
    QByteArray token_;
    State state_ = State::Idle;
    QString stateText_;
    QString nodeId_;
    int firstBackoffMs_ = 500;
    int maxBackoffMs_ = 10'000;
    int backoffMs_ = 500;
    bool wanted_ = false;
    bool reconnect_ = true;
    quint64 nextRequest_ = 1;
};

} // namespace herald::console

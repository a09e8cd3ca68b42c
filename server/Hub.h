#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/ExpiryQueue.h"
#include "server/MessageIds.h"
#include "server/Metrics.h"
#include "server/Publisher.h"
#include "server/Router.h"
#include "server/Session.h"
#include "shared/Admin.h"
#include "shared/Messages.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <functional>
#include <memory>
#include <unordered_map>

namespace herald {

// The node's protocol core, free of sockets and HTTP. Itself the registry of sessions (who is
// connected, their users, keepalive, token expiry); it owns the Router (subscriptions and
// delivery) and the Publisher (producers' messages), three objects with one job each.
class Hub : public QObject {
    Q_OBJECT
public:
    Hub(const Config& config, QString nodeId, Broker& broker, Metrics& metrics,
        QObject* parent = nullptr);
    ~Hub() override;

    const Config& config() const { return config_; }
    const QString& nodeId() const { return nodeId_; }
    Metrics& metrics() { return metrics_; }
    Router& router() { return router_; }
    Publisher& publisher() { return publisher_; }

    // Takes ownership of a new connection, greets it and returns it; the caller routes transport
    // events to it and calls detach() when the connection is gone.
    Session* attach(Identity identity, std::unique_ptr<ClientTransport> transport);
    void detach(quint64 sessionId);
    Session* session(quint64 sessionId) const {
        const auto it = sessions_.find(sessionId);
        return it == sessions_.end() ? nullptr : it->second.get();
    }

    // Milliseconds since the epoch, from a monotonic clock started with the hub.
    qint64 nowMs() const { return clockBaseMs_ + clock_.elapsed(); }

    // The connections every figure counts (the online feed, heartbeats and so the cluster
    // totals, /api/cluster, /metrics, broadcast reports): clients, never admin connections (the
    // consoles, heraldctl tail), so that watching a node does not change what it shows.
    qint64 clientCount() const { return openConnections() - adminCount(); }
    qint64 adminCount() const { return admins_.size(); }
    // Every open connection, admins included: what costs the node a socket (max_connections) and
    // what drain and shutdown wait for.
    qint64 openConnections() const { return static_cast<qint64>(sessions_.size()); }
    // Signed-in users with a client connection (admins are never users).
    qint64 uniqueUsers() const { return userConnections_.size(); }

    // Closes every connection with `code` (shutdown and drain).
    void closeAll(int code, const QString& reason);
    // Sends a shared frame to every session / the admin sessions / the sessions matching
    // `match`. sendToAll and sendWhere return how many clients took it (admin connections get the
    // frame but are not counted, as everywhere); sendToAdmins how many admins. Slow consumers
    // that were closed instead do not count.
    qint64 sendToAll(const Frame& frame);
    qint64 sendToAdmins(const Frame& frame);
    qint64 sendWhere(const std::function<bool(const Session&)>& match, const Frame& frame);
    // Closes the sessions matching `match`; returns how many.
    int closeWhere(const std::function<bool(const Session&)>& match, int code,
                   const QString& reason);
    // Ids of the current sessions (a copy: the caller may close them in any order later).
    QList<quint64> sessionIds() const;
    QString newMessageId() { return ids_.next(); }

    // Where /admin commands other than subscribe/unsubscribe/ping go; without a handler they
    // are answered "unavailable".
    using AdminHandler = std::function<void(Session&, const admin::AdminCommand&)>;
    void setAdminHandler(AdminHandler handler) { adminHandler_ = std::move(handler); }
    void handleAdmin(Session& session, const admin::AdminCommand& command);

Q_SIGNALS:
    // Every open connection, admins included (see openConnections()).
    void openConnectionsChanged(qint64 open);
    // A new session was greeted (emitted after its welcome).
    void sessionAttached(quint64 sessionId);
    // A user's first connection on this node / its last one gone.
    void userArrived(const QString& user);
    void userLeft(const QString& user);

private:
    void sweep();
    // Sends; 1 when a client took it, 0 for an admin or a slow consumer closed instead.
    static qint64 sendCounted(Session& session, const Frame& frame);
    void armExpiryTimer();
    void closeExpired();

    const Config& config_;
    QString nodeId_;
    Metrics& metrics_;
    MessageIds ids_;
    Router router_;
    Publisher publisher_;
    std::unordered_map<quint64, std::unique_ptr<Session>> sessions_;
    QSet<Session*> admins_; // the consoles, so their snapshots do not scan every session
    QHash<QString, int> userConnections_;
    quint64 nextSessionId_ = 1;
    QElapsedTimer clock_;
    qint64 clockBaseMs_ = 0;
    QTimer sweepTimer_;
    ExpiryQueue expiries_; // sessions whose token expires, closed on time by expiryTimer_
    QTimer expiryTimer_;
    AdminHandler adminHandler_;
};

} // namespace herald

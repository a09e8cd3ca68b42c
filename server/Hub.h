#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/ExpiryQueue.h"
#include "server/Fanout.h"
#include "server/Metrics.h"
#include "server/Session.h"
#include "shared/Admin.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <functional>
#include <memory>
#include <unordered_map>

namespace herald {

struct PublishResult {
    QString id;
    QString routingKey;
    std::optional<Error> error;
};

// The node's protocol core, free of sockets and HTTP: owns the sessions, the subscription
// index and the link to the broker; turns producer publishes into bus payloads and bus payloads
// into client frames (encoded once per message, shared by every recipient).
class Hub : public QObject {
    Q_OBJECT
public:
    using PublishCallback = std::function<void(const PublishResult&)>;

    Hub(const Config& config, QString nodeId, Broker& broker, Metrics& metrics,
        QObject* parent = nullptr);
    ~Hub() override;

    const Config& config() const { return config_; }
    const QString& nodeId() const { return nodeId_; }
    Metrics& metrics() { return metrics_; }

    // Takes ownership of a new connection, greets it and returns it; the caller routes transport
    // events to it and calls detach() when the connection is gone.
    Session* attach(Identity identity, std::unique_ptr<ClientTransport> transport);
    void detach(quint64 sessionId);
    Session* session(quint64 sessionId) const {
        const auto it = sessions_.find(sessionId);
        return it == sessions_.end() ? nullptr : it->second.get();
    }

    void subscribe(Session& session, const SubscribeRequest& request);
    void unsubscribe(Session& session, const UnsubscribeRequest& request);

    // Producers: a stream message or a system notice to every connection of the cluster.
    void publish(const streams::StreamRef& stream, const QByteArray& dataJson,
                 PublishCallback done);
    void broadcast(const SystemNotice& notice, PublishCallback done);

    // Milliseconds since the epoch, from a monotonic clock started with the hub.
    qint64 nowMs() const { return clockBaseMs_ + clock_.elapsed(); }

    qint64 connectionCount() const { return static_cast<qint64>(sessions_.size()); }
    qint64 uniqueUsers() const { return userConnections_.size(); }
    qsizetype streamCount() const { return fanout_.streamCount(); }
    qint64 subscriptionCount() const { return fanout_.totalSubscriptions(); }

    // Closes every connection with `code` (shutdown and drain).
    void closeAll(int code, const QString& reason);

    // Generic primitives for the admin side (which lives outside the hub, see AdminService).
    // Sends a shared frame to the sessions matching `match` / subscribed to `key`; returns how
    // many took it (slow consumers that were closed instead are not counted).
    qint64 sendWhere(const std::function<bool(const Session&)>& match, const Frame& frame);
    qint64 sendToSubscribers(const QString& key, const Frame& frame);
    // Closes the sessions matching `match`; returns how many.
    int closeWhere(const std::function<bool(const Session&)>& match, int code,
                   const QString& reason);
    // Ids of the current sessions (a copy: the caller may close them in any order later).
    QList<quint64> sessionIds() const;
    // Local subscribers per stream key, most first, at most `limit`.
    QList<QPair<QString, qint64>> topStreams(int limit) const;
    QString newMessageId() { return nextMessageId(); }

    // Where /admin commands other than subscribe/unsubscribe/ping go; without a handler they
    // are answered "unavailable".
    using AdminHandler = std::function<void(Session&, const admin::AdminCommand&)>;
    void setAdminHandler(AdminHandler handler) { adminHandler_ = std::move(handler); }
    void handleAdmin(Session& session, const admin::AdminCommand& command);

    // Where the "online" feed takes its figures (cluster totals); local counts by default.
    void setOnlineSource(std::function<OnlineEvent()> source) { onlineSource_ = std::move(source); }

Q_SIGNALS:
    void connectionCountChanged(qint64 connections);
    // A new session was greeted (emitted after its welcome).
    void sessionAttached(quint64 sessionId);
    // A user's first connection on this node / its last one gone.
    void userArrived(const QString& user);
    void userLeft(const QString& user);

private:
    static streams::Resolved resolveFor(const Identity& who, const QString& spec);
    // The stream a session asked for, or nullopt after telling the session why not.
    std::optional<streams::StreamRef> resolveOrRefuse(Session& session, const QString& spec);
    void onBusMessage(const QString& key, const QByteArray& payload);
    void deliverToAll(const Frame& frame);
    void sweep();
    void pushOnline(bool onlyIfChanged);
    QString nextMessageId();
    void publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                        PublishCallback done);

    const Config& config_;
    QString nodeId_;
    Broker& broker_;
    Metrics& metrics_;
    Fanout fanout_;
    std::unordered_map<quint64, std::unique_ptr<Session>> sessions_;
    QHash<QString, int> userConnections_;
    quint64 nextSessionId_ = 1;
    quint64 messageSeq_ = 0;
    QElapsedTimer clock_;
    qint64 clockBaseMs_ = 0;
    QTimer sweepTimer_;
    QTimer onlineTimer_;
    ExpiryQueue expiries_; // sessions whose token expires, closed on time by expiryTimer_
    QTimer expiryTimer_;
    void armExpiryTimer();
    void closeExpired();
    OnlineEvent lastOnline_{-1, -1};
    std::function<OnlineEvent()> onlineSource_;
    AdminHandler adminHandler_;
    OnlineEvent onlineNow() const;
};

} // namespace herald

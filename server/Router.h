#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/Fanout.h"
#include "server/Frame.h"
#include "server/MessageIds.h"
#include "server/Metrics.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QObject>
#include <QTimer>
#include <functional>

namespace herald {

class Session;
class Hub;

// Who gets what: the two-way subscription index (stream -> sessions, session -> streams), the
// broker subscriptions it implies (one per stream with local subscribers), and delivery of what
// arrives on the bus as one frame per message shared by every recipient. Also the "online" feed.
class Router : public QObject {
    Q_OBJECT
public:
    Router(const Config& config, Hub& hub, MessageIds& ids, Broker& broker, Metrics& metrics,
           QObject* parent = nullptr);

    void subscribe(Session& session, const SubscribeRequest& request);
    void unsubscribe(Session& session, const UnsubscribeRequest& request);
    // A session is going: its subscriptions go with it (and the broker's, where it was the last).
    void forget(Session& session);

    // A bus payload for `key` (a stream's routing key or "system"), from the broker or, during an
    // outage, straight from this node's publisher.
    void deliver(const QString& key, const QByteArray& payload);
    // Sends `frame` to the local subscribers of `key`; returns how many took it.
    qint64 sendToSubscribers(const QString& key, const Frame& frame);

    qsizetype streamCount() const { return fanout_.streamCount(); }
    qint64 subscriptionCount() const { return fanout_.totalSubscriptions(); }
    // Local subscribers per stream key, most first, at most `limit`.
    QList<QPair<QString, qint64>> topStreams(int limit) const;

    // Where the "online" feed takes its figures (cluster totals); local counts by default.
    void setOnlineSource(std::function<OnlineEvent()> source) { onlineSource_ = std::move(source); }

private:
    static streams::Resolved resolveFor(const Session& session, const QString& spec);
    // The stream a session asked for, or nullopt after telling the session why not.
    std::optional<streams::StreamRef> resolveOrRefuse(Session& session, const QString& spec);
    void pushOnline(bool onlyIfChanged);
    OnlineEvent onlineNow() const;

    const Config& config_;
    Hub& hub_;
    MessageIds& ids_;
    Broker& broker_;
    Metrics& metrics_;
    Fanout fanout_;
    QTimer onlineTimer_;
    OnlineEvent lastOnline_{-1, -1};
    std::function<OnlineEvent()> onlineSource_;
};

} // namespace herald

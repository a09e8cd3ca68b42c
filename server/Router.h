#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/Fanout.h"
#include "server/Frame.h"
#include "server/MessageIds.h"
#include "server/Metrics.h"
#include "server/StreamContinuity.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QObject>
#include <QTimer>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace herald {

class Session;
class Hub;

// Who gets what: the two-way subscription index (stream -> sessions, session -> streams), the
// broker subscriptions it implies (one per stream with local subscribers), and delivery of what
// arrives on the bus as one frame per message shared by every recipient. Also the "online" feed.
// A subscription is answered once it is in place (StreamContinuity): "subscribed" means every
// later message arrives, and a `since` brings, first, what was missed.
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
    // Sends `frame` to the local subscribers of `key`; returns how many clients took it (admins
    // tailing the stream get it too, but are never counted).
    qint64 sendToSubscribers(const QString& key, const Frame& frame);

    // What `key` keeps for resuming clients; nullopt: no history.
    std::optional<Retention> retentionFor(const QString& key) const {
        return continuity_.retentionFor(key);
    }

    qsizetype streamCount() const { return fanout_.streamCount(); }
    qint64 subscriptionCount() const { return fanout_.totalSubscriptions(); }
    // Local client subscribers per stream key (admins' tails not counted), most first, at most
    // `limit`.
    QList<QPair<QString, qint64>> topStreams(int limit) const;

    // Where the "online" feed takes its figures (cluster totals); local counts by default.
    void setOnlineSource(std::function<OnlineEvent()> source) { onlineSource_ = std::move(source); }

private:
    static streams::Resolved resolveFor(const Session& session, const QString& spec);
    // The stream a session asked for, or nullopt after telling the session why not.
    std::optional<streams::StreamRef> resolveOrRefuse(Session& session, const QString& spec);
    // One subscribe request whose streams are being set up; answered when all are ready.
    struct PendingSubscribe {
        Session* session = nullptr;
        QStringList accepted; // routing keys, in the order asked
        std::vector<std::shared_ptr<StreamJoin>> joins;
    };
    void finishIfReady(const std::shared_ptr<PendingSubscribe>& pending);
    // Sends "subscribed" (with positions and recovered), the replays, and turns delivery on.
    void answer(const PendingSubscribe& pending);
    // Sends a join's replay, then what arrived live meanwhile that the replay did not have.
    qint64 sendReplay(Session& session, const StreamJoin& join);
    bool isPending(Session* session, const QString& key) const;
    int pendingCount(Session* session) const;
    void cancelPending(Session* session, const QString& key = {});
    // Broker subscriptions, counted over subscribed and pending sessions.
    void retain(const QString& key);
    void forgetTail(const Session& session, const QString& key);
    void release(const QString& key);
    void pushOnline(bool onlyIfChanged);
    OnlineEvent onlineNow() const;

    const Config& config_;
    Hub& hub_;
    MessageIds& ids_;
    Broker& broker_;
    Metrics& metrics_;
    Fanout fanout_;
    StreamContinuity continuity_;
    QHash<QString, int> brokerRefs_;
    QHash<QString, int> adminTails_; // admin subscriptions per key, left out of every count
    std::unordered_map<Session*, std::vector<std::shared_ptr<PendingSubscribe>>> pending_;
    QTimer onlineTimer_;
    OnlineEvent lastOnline_{-1, -1};
    std::function<OnlineEvent()> onlineSource_;
};

} // namespace herald

#pragma once

#include "server/RedisReader.h"
#include "server/RedisUrl.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

class QAbstractSocket;
class QHostAddress;

namespace herald {

Q_DECLARE_LOGGING_CATEGORY(lcRedis)

// One connection to one Redis endpoint, on this thread's Qt event loop: a QTcpSocket, or a
// QSslSocket for rediss://, with hiredis's command formatter and reply parser. It resolves the
// host (QHostInfo, asynchronously), connects (and completes the TLS handshake), sends
// AUTH/SELECT/PING, replays its subscriptions and only then is Ready. Any loss emits down() and
// reconnects with capped, jittered exponential backoff until stop(). A connection is used either
// for commands or for subscriptions, not both. Commands issued in one event-loop pass leave in
// one write (pipelined); replies are matched to commands in order.
class RedisConnection : public QObject {
    Q_OBJECT
public:
    enum class State { Disconnected, Connecting, Ready };
    Q_ENUM(State)
    using Reply = std::function<void(const RedisReply&)>;

    // `name` only labels log lines ("commands", "subscriber").
    explicit RedisConnection(RedisUrl url, QString name = {}, QObject* parent = nullptr);
    // Closes the socket. Outstanding callbacks are discarded, not called (their owners may be
    // gone too); call stop() first to have them answered with an error.
    ~RedisConnection() override;

    // Reconnect delay: starts at initialMs, doubles per failed attempt up to maxMs, each delay
    // randomised by +-25%. Defaults 100 ms and 5 s.
    void setBackoff(int initialMs, int maxMs) {
        initialBackoffMs_ = std::max(1, initialMs);
        maxBackoffMs_ = std::max(initialBackoffMs_, maxMs);
        backoffMs_ = initialBackoffMs_;
    }
    // An attempt (lookup, connect, handshake, subscription replay) that is not Ready by then is
    // abandoned and retried. Default 10 s.
    void setConnectTimeout(int ms) { connectTimeoutMs_ = std::max(1, ms); }
    // The largest reply accepted (with what is buffered of it): a Redis sending an endless or
    // gigantic reply costs at most about this much memory and the connection is dropped
    // ("a reply exceeds the limit"). Applies from the next attempt; default 512 MiB.
    void setMaxReplyBytes(qint64 bytes) { maxReplyBytes_ = std::max<qint64>(1024, bytes); }

    void start();
    // Closes the connection and stops reconnecting. Outstanding callbacks get a local error on the
    // next event-loop pass. Does not emit down(). Subscriptions are kept for a later start().
    void stop();
    State state() const { return state_; }
    bool isReady() const { return state_ == State::Ready; }
    const RedisUrl& url() const { return url_; }
    QString lastError() const { return lastError_; }

    // Sends one command, binary-safe. `done` is called exactly once: with the reply, or with a
    // local error when not Ready ("redis not connected", on the next event-loop pass, never
    // inside command()) or when the connection drops before the reply came. Never queued across
    // a reconnect. Refused on a connection that has subscriptions.
    void command(const QByteArrayList& argv, Reply done = {});

    // Subscriber mode. The sets survive reconnects and are replayed as one SUBSCRIBE and one
    // PSUBSCRIBE; repeated subscribe() of the same name is a no-op.
    void subscribe(const QByteArray& channel) {
        changeSubscription(channels_, "SUBSCRIBE", channel, true);
    }
    void unsubscribe(const QByteArray& channel) {
        changeSubscription(channels_, "UNSUBSCRIBE", channel, false);
    }
    void psubscribe(const QByteArray& pattern) {
        changeSubscription(patterns_, "PSUBSCRIBE", pattern, true);
    }
    void punsubscribe(const QByteArray& pattern) {
        changeSubscription(patterns_, "PUNSUBSCRIBE", pattern, false);
    }
    // Sharded pub/sub (Redis 7, SSUBSCRIBE): sent one channel per command (channels of different
    // slots may not share one), replayed after every reconnect, and not waited for before
    // Ready: a cluster node that does not own the channel's slot answers MOVED
    // (subscriptionRefused), and the owner of the topology moves the channel elsewhere.
    void ssubscribe(const QByteArray& channel) {
        changeSubscription(shardChannels_, "SSUBSCRIBE", channel, true);
    }
    void sunsubscribe(const QByteArray& channel) {
        changeSubscription(shardChannels_, "SUNSUBSCRIBE", channel, false);
    }
    const QSet<QByteArray>& shardChannels() const { return shardChannels_; }
    bool isShardConfirmed(const QByteArray& channel) const {
        return confirmedShardChannels_.contains(channel);
    }
    const QSet<QByteArray>& channels() const { return channels_; }
    const QSet<QByteArray>& patterns() const { return patterns_; }
    // Redis confirmed the subscription on the current connection (messages now arrive).
    bool isConfirmed(const QByteArray& name, bool pattern) const {
        return (pattern ? confirmedPatterns_ : confirmedChannels_).contains(name);
    }

Q_SIGNALS:
    void ready();
    void down(const QString& reason);
    // A published message. `pattern` is empty for a SUBSCRIBE'd channel, else the PSUBSCRIBE
    // pattern that matched `channel`. Slots may take just (channel, payload).
    void message(const QByteArray& channel, const QByteArray& payload, const QByteArray& pattern);
    // Redis confirmed a (P)SUBSCRIBE: after subscribe() and again after every reconnect.
    void subscriptionConfirmed(const QByteArray& name, bool pattern);
    // Redis confirmed an SSUBSCRIBE (again after every reconnect).
    void shardSubscriptionConfirmed(const QByteArray& channel);
    // Redis dropped a sharded subscription this side did not give up (its slot moved to another
    // node, or this node stopped being a master); the channel stays in shardChannels().
    void shardSubscriptionLost(const QByteArray& channel);
    // Redis refused a subscription command (in a cluster: "MOVED <slot> <host:port>").
    void subscriptionRefused(const QString& error);

private:
    struct SocketSignal; // marks "inside a slot of socket_": the socket is then deleted later

    void connectNow();
    void openSocket(const QHostAddress& address);
    void onConnected();
    void onReadable();
    void onSocketError();
    void sendHandshake();
    void replaySubscriptions();
    void becomeReady();
    void fail(const QString& what);
    void closeSocket(bool destroying = false);
    bool write(const QByteArrayList& argv);
    void flush();
    void dispatch(RedisReply&& reply);
    void sendSubscription(const QByteArray& verb, const QSet<QByteArray>& names);
    void changeSubscription(QSet<QByteArray>& set, const char* verb, const QByteArray& name,
                            bool add);
    std::vector<Reply> takePending();
    // `sent`: the commands may have reached Redis (and run) before the connection was lost.
    void answerLater(std::vector<Reply> callbacks, const QString& text, bool sent = false);
    void onPubSub(const RedisReply& reply);
    int nextDelayMs();
    QString label() const;

    RedisUrl url_;
    QString name_;
    State state_ = State::Disconnected;
    bool running_ = false;

    quint64 attempt_ = 0; // id of the current attempt; late lookups and replies check it
    QAbstractSocket* socket_ = nullptr; // a QSslSocket for rediss://
    bool transportUp_ = false;          // connected (and encrypted): out_ may be written
    int inSocketSignal_ = 0;
    std::unique_ptr<RedisReplyReader> reader_;
    qint64 maxReplyBytes_ = RedisReplyReader::kDefaultMaxReplyBytes;
    QByteArray out_; // formatted commands of this event-loop pass, written by flush()
    bool flushQueued_ = false;
    QStringList tlsErrors_; // why the certificate was refused, for the handshake error

    std::deque<Reply> pending_; // one per command on the wire (maybe empty), in issue order

    QSet<QByteArray> channels_;
    QSet<QByteArray> patterns_;
    QSet<QByteArray> shardChannels_;
    QSet<QByteArray> awaitingChannels_; // replay confirmations still due before Ready
    QSet<QByteArray> awaitingPatterns_;
    QSet<QByteArray> confirmedChannels_; // on the current socket
    QSet<QByteArray> confirmedPatterns_;
    QSet<QByteArray> confirmedShardChannels_;
    bool subscriptionsLive_ = false; // the replay went out on this socket: send changes directly
    bool pubsubContext_ = false;     // subscriptions sent: replies without a command are pub/sub

    QTimer retryTimer_;
    QTimer attemptTimer_;
    int initialBackoffMs_ = 100;
    int maxBackoffMs_ = 5000;
    int backoffMs_ = 100;
    int connectTimeoutMs_ = 10'000;

    QString lastError_;
    QString lastLoggedError_;
    bool everReady_ = false;
    int failures_ = 0; // failed attempts since the last Ready
    QElapsedTimer downSince_;
};

} // namespace herald

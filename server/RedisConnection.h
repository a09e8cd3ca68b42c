#pragma once

#include <QByteArray>
#include <QByteArrayList>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>
#include <algorithm>
#include <functional>
#include <map>
#include <variant>
#include <vector>

struct redisAsyncContext; // hiredis stays out of this header
class QHostAddress;
class QSocketNotifier;

namespace herald {

Q_DECLARE_LOGGING_CATEGORY(lcRedis)

// Where Redis is: redis://[[user]:password@]host[:port][/db]; IPv6 hosts in brackets.
// User and password may be percent-encoded. "redis://secret@host" means password "secret",
// as with redis-cli.
struct RedisUrl {
    QString host;
    quint16 port = 6379;
    QByteArray password;
    QByteArray username;
    int db = 0;

    static std::variant<RedisUrl, QString> parse(const QString& url);
    // The URL with the password replaced by "***": safe for logs and status pages.
    QString redacted() const;
    // "host:port" ("[::1]:6379" for IPv6), plus "/db" when db != 0.
    QString endpoint() const;
};

// One reply as a plain value, detached from hiredis's memory.
struct RedisReply {
    enum class Type { Nil, Status, Error, Integer, String, Array };
    Type type = Type::Nil;
    QByteArray string;                // String, Status and Error text
    qint64 integer = 0;               // Integer
    std::vector<RedisReply> elements; // Array
    bool local = false;               // an Error made by this client: not connected, lost, stopped

    bool isError() const { return type == Type::Error; }
    bool isNil() const { return type == Type::Nil; }
    QString errorText() const { return isError() ? QString::fromUtf8(string) : QString(); }

    static RedisReply localError(const QString& text) {
        RedisReply r;
        r.type = Type::Error;
        r.string = text.toUtf8();
        r.local = true;
        return r;
    }
};

// One hiredis async connection driven by this thread's Qt event loop. It resolves the host
// (QHostInfo, asynchronously), connects, sends AUTH/SELECT/PING, replays its subscriptions and
// only then is Ready. Any loss emits down() and reconnects with capped, jittered exponential
// backoff until stop(). A connection is used either for commands or for subscriptions, not both.
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
    const QSet<QByteArray>& channels() const { return channels_; }
    const QSet<QByteArray>& patterns() const { return patterns_; }

Q_SIGNALS:
    void ready();
    void down(const QString& reason);
    // A published message. `pattern` is empty for a SUBSCRIBE'd channel, else the PSUBSCRIBE
    // pattern that matched `channel`. Slots may take just (channel, payload).
    void message(const QByteArray& channel, const QByteArray& payload, const QByteArray& pattern);

private:
    friend struct RedisGlue; // the C callbacks in RedisConnection.cpp

    void connectNow();
    void openContext(const QHostAddress& address);
    void sendHandshake();
    void replaySubscriptions();
    void becomeReady();
    void fail(const QString& reason, bool hiredisFreesContext);
    void lose();
    void detachContext(bool freeIt);
    bool send(const QByteArrayList& argv, Reply& done);
    bool sendSubscription(const QByteArray& verb, const QSet<QByteArray>& names);
    void changeSubscription(QSet<QByteArray>& set, const char* verb, const QByteArray& name,
                            bool add);
    std::vector<Reply> takePending();
    void answerLater(std::vector<Reply> callbacks, const QString& text);
    void onReply(quint64 commandId, const void* reply);
    void onPubSub(const void* reply);
    void setNotifier(bool write, bool enabled);
    void dispatch(bool write);
    int nextDelayMs();
    QString label() const;

    RedisUrl url_;
    QString name_;
    State state_ = State::Disconnected;
    bool running_ = false;

    redisAsyncContext* ac_ =
        nullptr;          // hiredis frees it on loss (we then drop it unread); we free it otherwise
    quint64 attempt_ = 0; // id of the current attempt; keys the C callbacks' lookups
    QSocketNotifier* readNotifier_ = nullptr;
    QSocketNotifier* writeNotifier_ = nullptr;
    int dispatching_ = 0; // >0 while a notifier slot runs: delete notifiers later

    std::map<quint64, Reply> pending_; // by command id: in issue order
    quint64 nextCommandId_ = 0;

    QSet<QByteArray> channels_;
    QSet<QByteArray> patterns_;
    QSet<QByteArray> awaitingChannels_; // replay confirmations still due before Ready
    QSet<QByteArray> awaitingPatterns_;
    bool subscriptionsLive_ = false; // the replay went out on this context: send changes directly
    bool pubsubContext_ = false; // hiredis is in subscribed mode: plain commands would confuse it

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

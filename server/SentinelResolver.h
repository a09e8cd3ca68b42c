#pragma once

#include "server/RedisConnection.h"
#include "server/RedisUrl.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <functional>
#include <memory>
#include <vector>

namespace herald {

// Finds a Redis master through Redis Sentinel, on this thread's event loop and never blocking.
// resolve() asks the Sentinels of the URL in turn (SENTINEL get-master-addr-by-name) and answers
// with the first address one gives. While started it also keeps one subscriber connection to a
// Sentinel (the next one in the list after each loss) on +switch-master, so a failover is seen
// the moment Sentinel makes it, not only when the old master's connections break.
//
// The other Sentinels learn of a failover from their hello messages, up to a few seconds after
// the one that announced it: asking them in that window would send a node back to the old,
// dead master. So for a few seconds after a +switch-master, resolve() answers with the address
// announced, without asking. (A wrong answer is never fatal: the connection checks ROLE.)
class SentinelResolver : public QObject {
    Q_OBJECT
public:
    using Done = std::function<void(const RedisConnection::Endpoint&)>;

    // `url` must be a redis-sentinel:// URL (RedisUrl::isSentinel()).
    explicit SentinelResolver(RedisUrl url, QObject* parent = nullptr);
    ~SentinelResolver() override;

    // Per Sentinel asked: an answer not there by then counts as "no answer". Default 2 s.
    void setQueryTimeout(int ms) { queryTimeoutMs_ = std::max(1, ms); }

    void start(); // the +switch-master watch
    void stop();

    // `done` is called once, never inside resolve(): with the master's (host, port), or with why
    // there is none ("no sentinel answered: ...", "sentinels do not know master NAME"). Calls
    // made while a round of questions is under way share its answer.
    void resolve(Done done);
    // An EndpointSource for RedisConnection::setEndpointSource().
    RedisConnection::EndpointSource source() {
        return [this](Done done) { resolve(std::move(done)); };
    }

    const QString& masterName() const { return url_.masterName; }
    QString sentinelList() const { return url_.sentinelList(); }
    // "host:port" of the master last named by a Sentinel; empty before the first answer.
    QString master() const;
    bool isWatching() const { return watcher_.isReady(); }

Q_SIGNALS:
    // A Sentinel announced a failover (+switch-master) of our master.
    void masterChanged(const QString& host, quint16 port);

private:
    struct Round;
    RedisConnection& query(qsizetype index);
    void ask(const std::shared_ptr<Round>& round, qsizetype index);
    void finish(const std::shared_ptr<Round>& round, const RedisConnection::Endpoint& answer);
    void learn(const QString& host, quint16 port, const char* how);
    void onSwitch(const QByteArray& payload);
    RedisUrl sentinelUrl(const RedisUrl::Sentinel& s) const;

    RedisUrl url_;
    int queryTimeoutMs_ = 2000;
    std::shared_ptr<Round> round_;                          // the round under way, if any
    std::vector<std::unique_ptr<RedisConnection>> queries_; // one per Sentinel, from first use
    QString masterHost_;
    quint16 masterPort_ = 0;
    qsizetype nextWatched_ = 0;
    QElapsedTimer switchedAt_; // the last +switch-master: its address is answered for a while
    RedisConnection watcher_;
};

} // namespace herald

#include "server/SentinelResolver.h"

#include <QMetaObject>
#include <QPointer>
#include <QStringList>
#include <QTimer>

namespace herald {
namespace {

// How long the address of a +switch-master is answered without asking: the other Sentinels
// send hello messages every 2 s, so they have heard of the failover by then.
constexpr qint64 kTrustSwitchMs = 5000;

QString hostPort(const QString& host, quint16 port) {
    return host.contains(QLatin1Char(':')) ? QStringLiteral("[%1]:%2").arg(host).arg(port)
                                           : QStringLiteral("%1:%2").arg(host).arg(port);
}

} // namespace

// One pass over the Sentinels, shared by every resolve() made while it runs.
struct SentinelResolver::Round {
    std::vector<Done> waiters;
    QStringList failures; // "host:port: why", per Sentinel that gave no address
    bool unknown = false; // a Sentinel answered, and does not monitor that master
    int step = 0;         // which question is current; late answers of older ones are dropped
    bool over = false;
    QPointer<QObject> scope; // context of the current question's signal connections
};

SentinelResolver::SentinelResolver(RedisUrl url, QObject* parent)
    : QObject(parent)
    , url_(std::move(url))
    , watcher_(sentinelUrl(url_.sentinels.value(0)), QStringLiteral("sentinel watch"), this) {
    // Each attempt of the watch goes to the next Sentinel: a dead one is skipped by the retry.
    watcher_.setEndpointSource(
        [this](const std::function<void(const RedisConnection::Endpoint&)>& done) {
            const RedisUrl::Sentinel& s = url_.sentinels.at(nextWatched_++ % url_.sentinels.size());
            done(std::pair{s.host, s.port});
        },
        false);
    watcher_.setBackoff(100, 2000);
    watcher_.subscribe("+switch-master");
    connect(&watcher_, &RedisConnection::message, this,
            [this](const QByteArray&, const QByteArray& payload) { onSwitch(payload); });
}

SentinelResolver::~SentinelResolver() = default;

RedisUrl SentinelResolver::sentinelUrl(const RedisUrl::Sentinel& s) const {
    RedisUrl u;
    u.host = s.host;
    u.port = s.port;
    u.username = url_.sentinelUsername;
    u.password = url_.sentinelPassword;
    return u;
}

void SentinelResolver::start() {
    watcher_.start();
}

void SentinelResolver::stop() {
    watcher_.stop();
    for (const auto& c : queries_)
        c->stop();
    if (round_)
        finish(round_, QStringLiteral("sentinel resolver stopped"));
}

QString SentinelResolver::master() const {
    return masterHost_.isEmpty() ? QString() : hostPort(masterHost_, masterPort_);
}

void SentinelResolver::resolve(Done done) {
    if (switchedAt_.isValid() && switchedAt_.elapsed() < kTrustSwitchMs && !masterHost_.isEmpty()) {
        QMetaObject::invokeMethod(
            this,
            [this, done = std::move(done)] {
                if (done)
                    done(std::pair{masterHost_, masterPort_});
            },
            Qt::QueuedConnection);
        return;
    }
    if (round_) {
        round_->waiters.push_back(std::move(done));
        return;
    }
    round_ = std::make_shared<Round>();
    round_->waiters.push_back(std::move(done));
    ask(round_, 0);
}

RedisConnection& SentinelResolver::query(qsizetype index) {
    if (queries_.empty())
        for (const RedisUrl::Sentinel& s : url_.sentinels) {
            queries_.push_back(
                std::make_unique<RedisConnection>(sentinelUrl(s), QStringLiteral("sentinel")));
            queries_.back()->setConnectTimeout(queryTimeoutMs_);
        }
    return *queries_.at(static_cast<size_t>(index));
}

void SentinelResolver::ask(const std::shared_ptr<Round>& round, qsizetype index) {
    if (round->scope)
        round->scope->deleteLater(); // drops the last question's signal connections
    if (index >= url_.sentinels.size()) {
        if (round->unknown)
            return finish(round, QStringLiteral("sentinels do not know master ") + url_.masterName +
                                     (round->failures.isEmpty()
                                          ? QString()
                                          : QStringLiteral(" (no answer from ") +
                                                round->failures.join(QLatin1String("; ")) +
                                                QLatin1Char(')')));
        return finish(round, QStringLiteral("no sentinel answered: ") +
                                 round->failures.join(QLatin1String("; ")));
    }
    const RedisUrl::Sentinel s = url_.sentinels.at(index);
    const QString where = hostPort(s.host, s.port);
    const int step = ++round->step;
    const std::weak_ptr<Round> weak = round;
    // Moves on to the next Sentinel once, whatever comes first: an answer, a loss, the timeout.
    auto next = [this, weak, step, index, where](const QString& why, bool unknown) {
        const std::shared_ptr<Round> r = weak.lock();
        if (!r || r->over || r->step != step)
            return;
        if (unknown)
            r->unknown = true; // said in the summary; the other failures are listed
        else
            r->failures.append(where + QStringLiteral(": ") + why);
        ask(r, index + 1);
    };
    RedisConnection& c = query(index);
    auto send = [this, &c, weak, step, next] {
        c.command(
            {"SENTINEL", "get-master-addr-by-name", url_.masterName.toUtf8()},
            [this, weak, step, next](const RedisReply& r) {
                const std::shared_ptr<Round> live = weak.lock();
                if (!live || live->over || live->step != step)
                    return;
                bool ok = false;
                const quint16 port = r.type == RedisReply::Type::Array && r.elements.size() == 2
                                         ? r.elements[1].string.toUShort(&ok)
                                         : 0;
                if (ok && port != 0)
                    return finish(live, std::pair{QString::fromUtf8(r.elements[0].string), port});
                if (r.type == RedisReply::Type::Nil)
                    return next(QStringLiteral("does not know master ") + url_.masterName, true);
                next(r.isError() ? r.errorText() : QStringLiteral("unexpected answer"), false);
            });
    };
    // The connections stay open between questions (one "connected" line per Sentinel, not one
    // per question); one that is down is tried again now rather than after its backoff.
    round->scope = new QObject(this);
    connect(&c, &RedisConnection::down, round->scope,
            [next](const QString& why) { next(why, false); });
    connect(&c, &RedisConnection::ready, round->scope, send);
    // Connected but silent (a hung Sentinel): the connect timeout covers the handshake only.
    QTimer::singleShot(queryTimeoutMs_ + 100, round->scope, [next, timeout = queryTimeoutMs_] {
        next(QStringLiteral("no answer within %1 ms").arg(timeout), false);
    });
    c.start(); // no-op unless new or stopped
    if (c.isReady())
        send(); // its answer comes later, never inside resolve()
    else if (c.state() == RedisConnection::State::Disconnected)
        c.reconnectNow(QStringLiteral("asked again"));
}

void SentinelResolver::finish(const std::shared_ptr<Round>& round,
                              const RedisConnection::Endpoint& answer) {
    round->over = true;
    if (round->scope)
        round->scope->deleteLater();
    if (round_ == round)
        round_.reset();
    // A round that began before a +switch-master may bring the old address: the switch wins.
    const bool switchedLately = switchedAt_.isValid() && switchedAt_.elapsed() < kTrustSwitchMs;
    if (const auto* where = std::get_if<0>(&answer); where && !switchedLately)
        learn(where->first, where->second, "named by sentinel");
    const std::vector<Done> waiters = std::move(round->waiters);
    for (const Done& done : waiters)
        if (done)
            done(answer);
}

void SentinelResolver::learn(const QString& host, quint16 port, const char* how) {
    if (host == masterHost_ && port == masterPort_)
        return;
    const QString before = master();
    masterHost_ = host;
    masterPort_ = port;
    qCInfo(lcRedis).noquote() << QStringLiteral("sentinel: master %1 is at %2 (%3%4)")
                                     .arg(url_.masterName, master(), QLatin1String(how),
                                          before.isEmpty()
                                              ? QString()
                                              : QStringLiteral(", was %1").arg(before));
}

void SentinelResolver::onSwitch(const QByteArray& payload) {
    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
    const QList<QByteArray> parts = payload.split(' ');
    bool ok = false;
    const quint16 port = parts.size() == 5 ? parts[4].toUShort(&ok) : 0;
    if (!ok || QString::fromUtf8(parts[0]) != url_.masterName)
        return;
    learn(QString::fromUtf8(parts[3]), port, "+switch-master");
    switchedAt_.start();
    Q_EMIT masterChanged(masterHost_, masterPort_);
}

} // namespace herald

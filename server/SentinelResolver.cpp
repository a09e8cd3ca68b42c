#include "server/SentinelResolver.h"

#include <QMetaObject>
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
    std::unique_ptr<RedisConnection> current; // to the Sentinel being asked
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

void SentinelResolver::ask(const std::shared_ptr<Round>& round, qsizetype index) {
    if (round->current) {
        round->current->stop();
        round->current.release()->deleteLater(); // we may be inside one of its callbacks
    }
    if (index >= url_.sentinels.size()) {
        if (round->unknown)
            return finish(round,
                          QStringLiteral("sentinels do not know master %1 (%2)")
                              .arg(url_.masterName, round->failures.join(QLatin1String("; "))));
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
        r->failures.append(where + QStringLiteral(": ") + why);
        r->unknown = r->unknown || unknown;
        ask(r, index + 1);
    };
    round->current = std::make_unique<RedisConnection>(sentinelUrl(s), QStringLiteral("sentinel"));
    RedisConnection* c = round->current.get();
    c->setConnectTimeout(queryTimeoutMs_);
    c->setBackoff(60'000, 60'000); // one attempt: the next Sentinel is asked instead
    connect(c, &RedisConnection::down, this, [next](const QString& why) { next(why, false); });
    connect(c, &RedisConnection::ready, this, [this, c, weak, step, next] {
        c->command(
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
    });
    // Connected but silent (a hung Sentinel): the connect timeout covers the handshake only.
    QTimer::singleShot(queryTimeoutMs_ + 100, this, [next, timeout = queryTimeoutMs_] {
        next(QStringLiteral("no answer within %1 ms").arg(timeout), false);
    });
    c->start();
}

void SentinelResolver::finish(const std::shared_ptr<Round>& round,
                              const RedisConnection::Endpoint& answer) {
    round->over = true;
    if (round->current) {
        round->current->stop();
        round->current.release()->deleteLater();
    }
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

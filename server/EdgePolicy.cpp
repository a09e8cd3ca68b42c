#include "server/EdgePolicy.h"

#include <QUrl>
#include <algorithm>

namespace herald {
namespace {

// "host[:port]" with the scheme's default port left out, lower case.
QString authority(const QUrl& url) {
    const int port = url.port(-1);
    const bool isDefault = port == -1 || (url.scheme() == QLatin1String("http") && port == 80) ||
                           (url.scheme() == QLatin1String("https") && port == 443);
    const QString host = url.host().toLower();
    const QString shown = host.contains(QLatin1Char(':')) ? u'[' + host + u']' : host;
    return isDefault ? shown : shown + u':' + QString::number(port);
}

QString hostHeaderAuthority(QByteArrayView host) {
    QString h = QString::fromLatin1(host).trimmed().toLower();
    if (h.endsWith(QLatin1String(":80")))
        h.chop(3);
    else if (h.endsWith(QLatin1String(":443")))
        h.chop(4);
    return h;
}

bool isLoopbackHost(const QString& host) {
    if (host == QLatin1String("localhost"))
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

} // namespace

OriginPolicy::OriginPolicy(QStringList allowed, bool dev)
    : allowed_(std::move(allowed))
    , dev_(dev) {
    for (QString& a : allowed_)
        a = a.trimmed().toLower();
}

bool OriginPolicy::allows(QByteArrayView origin, QByteArrayView host) const {
    if (origin.isNull())
        return true;
    const QString text = QString::fromLatin1(origin).trimmed().toLower();
    if (allowed_.contains(QLatin1String("*")) || allowed_.contains(text))
        return true;
    const QUrl url(text);
    if (!url.isValid() || url.host().isEmpty())
        return false; // "null" (sandboxed frames, file://) and garbage
    if (authority(url) == hostHeaderAuthority(host))
        return true; // the node's own pages (the demo page, herald.js served by the node)
    if (dev_ && isLoopbackHost(url.host()))
        return true;
    for (const QString& pattern : allowed_) {
        // "scheme://*.domain[:port]": any subdomain of domain (not domain itself).
        const qsizetype star = pattern.indexOf(QLatin1String("://*."));
        if (star < 0)
            continue;
        const QUrl p(QString(pattern).replace(star + 3, 1, QStringLiteral("x")));
        const QString suffix = p.host().mid(1); // ".domain"
        if (url.scheme() == p.scheme() && url.host().endsWith(suffix) &&
            url.host().size() > suffix.size() && url.port(-1) == p.port(-1))
            return true;
    }
    return false;
}

SourceLimiter::SourceLimiter(Settings settings)
    : settings_(std::move(settings)) {}

QHostAddress SourceLimiter::normalized(const QHostAddress& address) {
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4); // IPv4-mapped IPv6 counts as its IPv4
    return isV4 ? QHostAddress(v4) : address;
}

bool SourceLimiter::isExempt(const QHostAddress& address) const {
    return std::any_of(settings_.exempt.begin(), settings_.exempt.end(),
                       [&](const auto& subnet) { return address.isInSubnet(subnet); });
}

SourceLimiter::Decision SourceLimiter::admit(const QHostAddress& raw, qint64 nowMs) {
    if (settings_.maxConnections == 0 && settings_.connectRate == 0 &&
        settings_.authFailureLimit == 0)
        return {};
    const QHostAddress address = normalized(raw);
    if (isExempt(address))
        return {};
    auto it = entries_.find(address);
    if (it == entries_.end()) {
        if (entries_.size() >= kMaxTracked)
            prune(nowMs);
        it = entries_.insert(address, Entry{0, 2.0 * settings_.connectRate, nowMs, 0, 0, 0, 0});
    }
    Entry& e = *it;
    if (e.backoffUntilMs > nowMs)
        return {Verdict::BackingOff, int((e.backoffUntilMs - nowMs + 999) / 1000)};
    if (settings_.maxConnections > 0 && e.connections >= settings_.maxConnections)
        return {Verdict::TooManyConnections, 1};
    if (settings_.connectRate > 0) {
        const double burst = 2.0 * settings_.connectRate;
        e.tokens =
            std::min(burst, e.tokens + (nowMs - e.refilledMs) * settings_.connectRate / 1000.0);
        e.refilledMs = nowMs;
        if (e.tokens < 1.0)
            return {Verdict::TooFast, 1};
        e.tokens -= 1.0;
    }
    return {};
}

void SourceLimiter::opened(const QHostAddress& raw) {
    if (settings_.maxConnections == 0)
        return;
    const QHostAddress address = normalized(raw);
    if (!isExempt(address))
        entries_[address].connections++;
}

void SourceLimiter::closed(const QHostAddress& raw) {
    if (settings_.maxConnections == 0)
        return;
    auto it = entries_.find(normalized(raw));
    if (it != entries_.end() && it->connections > 0)
        it->connections--;
}

void SourceLimiter::authFailed(const QHostAddress& raw, qint64 nowMs) {
    if (settings_.authFailureLimit == 0)
        return;
    const QHostAddress address = normalized(raw);
    if (isExempt(address))
        return;
    Entry& e = entries_[address];
    if (nowMs - e.failureWindowStartMs > kFailureWindowMs) {
        e.failureWindowStartMs = nowMs;
        e.failures = 0;
    }
    if (++e.failures < settings_.authFailureLimit)
        return;
    // Each back-off in a row doubles, from one second up to a minute.
    e.backoffMs = std::clamp<qint64>(e.backoffMs * 2, 1000, kMaxBackoffMs);
    e.backoffUntilMs = nowMs + e.backoffMs;
    e.failures = 0;
    e.failureWindowStartMs = nowMs;
}

void SourceLimiter::prune(qint64 nowMs) {
    const double burst = 2.0 * settings_.connectRate;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Entry& e = *it;
        const bool bucketFull =
            settings_.connectRate == 0 ||
            e.tokens + (nowMs - e.refilledMs) * settings_.connectRate / 1000.0 >= burst;
        const bool quiet = e.connections == 0 && e.backoffUntilMs <= nowMs &&
                           nowMs - e.failureWindowStartMs > kFailureWindowMs &&
                           (e.backoffMs == 0 || nowMs - e.backoffUntilMs > kMaxBackoffMs);
        it = (quiet && bucketFull) ? entries_.erase(it) : std::next(it);
    }
}

} // namespace herald

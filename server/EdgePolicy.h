#pragma once

#include <QByteArrayView>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QStringList>

// Who may open a WebSocket, decided at the edge before any credential is checked.
namespace herald {

// Which browser pages may open a WebSocket (cross-site WebSocket hijacking: a page on another
// site would otherwise ride on the user's cookies or the console's network position).
class OriginPolicy {
public:
    // Always allowed: the node's own host (the Host header). Also `allowed`: exact origins
    // ("https://app.example.com"), host patterns ("https://*.example.com") or "*"; and with
    // `dev`, pages served from loopback.
    OriginPolicy(QStringList allowed, bool dev);

    // No Origin header (not a browser) is allowed: the credential alone decides.
    bool allows(QByteArrayView origin, QByteArrayView host) const;

private:
    QStringList allowed_;
    bool dev_;
};

// Per source address: concurrent connections, new connections per second (a token bucket) and
// a growing back-off for addresses that keep failing authentication. State is kept only for
// addresses that need it and pruned, so a scan from many addresses cannot grow it without bound.
class SourceLimiter {
public:
    struct Settings {
        int maxConnections = 0;   // per address; 0: no limit
        int connectRate = 0;      // new connections per second per address (burst 2x); 0: none
        int authFailureLimit = 0; // failures within kFailureWindowMs before a back-off; 0: none
        QList<QPair<QHostAddress, int>> exempt; // subnets never limited (trusted proxies)
    };
    enum class Verdict { Allow, TooManyConnections, TooFast, BackingOff };
    struct Decision {
        Verdict verdict = Verdict::Allow;
        int retryAfterSeconds = 0;
    };

    explicit SourceLimiter(Settings settings);

    // Whether a new connection from `address` may proceed (and counts it against the rate).
    Decision admit(const QHostAddress& address, qint64 nowMs);
    void opened(const QHostAddress& address);
    void closed(const QHostAddress& address);
    void authFailed(const QHostAddress& address, qint64 nowMs);
    // Drops the state of addresses that have nothing to remember.
    void prune(qint64 nowMs);
    qsizetype trackedAddresses() const { return entries_.size(); }

    static constexpr qint64 kFailureWindowMs = 10'000;
    static constexpr qint64 kMaxBackoffMs = 60'000;
    static constexpr qsizetype kMaxTracked = 100'000;

private:
    struct Entry {
        int connections = 0;
        double tokens = 0;
        qint64 refilledMs = 0;
        int failures = 0;
        qint64 failureWindowStartMs = 0;
        qint64 backoffUntilMs = 0;
        qint64 backoffMs = 0;
    };
    bool isExempt(const QHostAddress& address) const;
    static QHostAddress normalized(const QHostAddress& address);

    Settings settings_;
    QHash<QHostAddress, Entry> entries_;
};

} // namespace herald

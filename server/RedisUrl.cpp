#include "server/RedisUrl.h"

#include <QHostAddress>
#include <QRegularExpression>
#include <QStringList>
#include <QUrl>
#include <limits>
#include <optional>
#include <utility>

namespace herald {
namespace {

const QLatin1String kForm("expected redis[s]://[[user]:password@]host[:port][/db][?options] or "
                          "redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/db]"
                          "?master=NAME");

// Digits only: toInt() alone would also take "+1" or " 1".
bool number(const QString& s, int min, int max, int* out) {
    bool ok = false;
    const int n = s.toInt(&ok);
    if (!ok || s.isEmpty() || !s.front().isDigit() || n < min || n > max)
        return false;
    *out = n;
    return true;
}

// "ca=...&cert=...": the TLS options; "master=...": the Sentinel ones. TLS values are file
// paths; nothing here touches the files (they are read at each connection attempt, so a fixed
// or rotated file is picked up).
std::optional<QString> parseOptions(const QString& query, RedisUrl& url, bool sentinel) {
    for (const QString& item : query.split(QLatin1Char('&'), Qt::SkipEmptyParts)) {
        const qsizetype eq = item.indexOf(QLatin1Char('='));
        const QString key = item.left(eq);
        const QByteArray raw = QByteArray::fromPercentEncoding(item.mid(eq + 1).toUtf8());
        const QString value = eq < 0 ? QString() : QString::fromUtf8(raw);
        QString* file = key == QLatin1String("ca")     ? &url.caFile
                        : key == QLatin1String("cert") ? &url.certFile
                        : key == QLatin1String("key")  ? &url.keyFile
                                                       : nullptr;
        const bool sentinelKey = key == QLatin1String("master") ||
                                 key == QLatin1String("sentinel_user") ||
                                 key == QLatin1String("sentinel_password");
        if (!file && !sentinelKey && key != QLatin1String("verify"))
            return QStringLiteral("redis URL option \"%1\" is not supported (known: %2)")
                .arg(key, sentinel ? QLatin1String("master, sentinel_user, sentinel_password")
                                   : QLatin1String("ca, cert, key, verify"));
        if (sentinelKey != sentinel)
            return sentinel
                       ? QStringLiteral("redis URL option \"%1\" is not supported with "
                                        "redis-sentinel:// (no TLS to Sentinel yet)")
                             .arg(key)
                       : QStringLiteral("redis URL option \"%1\" needs redis-sentinel://").arg(key);
        if (!sentinel && !url.tls)
            return QStringLiteral("redis URL option \"%1\" needs rediss:// (TLS)").arg(key);
        if (value.isEmpty())
            return QStringLiteral("redis URL option \"%1\" needs a value").arg(key);
        if (key == QLatin1String("master")) {
            static const QRegularExpression name(QStringLiteral("^[^\\s]+$"));
            if (!name.match(value).hasMatch())
                return QStringLiteral("redis-sentinel master name must not contain spaces");
            url.masterName = value;
        } else if (key == QLatin1String("sentinel_user")) {
            url.sentinelUsername = raw;
        } else if (key == QLatin1String("sentinel_password")) {
            url.sentinelPassword = raw;
        } else if (file) {
            *file = value;
        } else if (value == QLatin1String("none")) {
            url.verifyPeer = false;
        } else if (value == QLatin1String("full")) {
            url.verifyPeer = true;
        } else {
            return QStringLiteral("redis URL option verify must be full or none, got \"%1\"")
                .arg(value);
        }
    }
    if (url.certFile.isEmpty() != url.keyFile.isEmpty())
        return QStringLiteral("redis URL options cert and key go together");
    return std::nullopt;
}

// "host", "host:port", "[v6]" or "[v6]:port" into host and port (port untouched when absent).
std::optional<QString> parseHostPort(const QString& text, QString* host, quint16* port) {
    // "[v6]" or a name without ':' or brackets, then an optional ":port".
    static const QRegularExpression hostPort(
        QStringLiteral(R"(^(?:\[([^\]]*)\]|([^:\[\]]*))(?::([^:]*))?$)"));
    const QRegularExpressionMatch m = hostPort.match(text);
    if (!m.hasMatch())
        return text.startsWith(QLatin1Char('['))
                   ? QStringLiteral("a bracketed redis host must be [IPv6] or [IPv6]:port")
                   : QStringLiteral(
                         "an IPv6 host must be written in brackets, e.g. redis://[::1]:6379");
    static const QRegularExpression hostName(QStringLiteral("^[A-Za-z0-9._-]+$"));
    const bool v6 = m.capturedStart(1) >= 0;
    *host = m.captured(v6 ? 1 : 2);
    if (v6 && QHostAddress(*host).protocol() != QAbstractSocket::IPv6Protocol)
        return QStringLiteral("\"%1\" in brackets is not an IPv6 address").arg(*host);
    if (host->isEmpty())
        return QStringLiteral("redis URL has no host (%1)").arg(kForm);
    if (!v6 && !hostName.match(*host).hasMatch())
        return QStringLiteral("\"%1\" is not a valid host name").arg(*host);
    int n = *port;
    if (m.capturedStart(3) >= 0 && !number(m.captured(3), 1, 65535, &n))
        return QStringLiteral("redis port must be 1-65535, got \"%1\"").arg(m.captured(3));
    *port = static_cast<quint16>(n);
    return std::nullopt;
}

QString hostPortText(const QString& host, quint16 port) {
    const QString h = host.contains(QLatin1Char(':'))
                          ? QString(QLatin1Char('[') + host + QLatin1Char(']'))
                          : host;
    return h + QLatin1Char(':') + QString::number(port);
}

} // namespace

std::variant<RedisUrl, QString> RedisUrl::parse(const QString& text) {
    // Errors never echo the whole URL: it may hold a password.
    RedisUrl url;
    qsizetype schemeLength = 0;
    for (const QLatin1String scheme : {QLatin1String("redis://"), QLatin1String("rediss://"),
                                       QLatin1String("redis-sentinel://")})
        if (text.startsWith(scheme, Qt::CaseInsensitive))
            schemeLength = scheme.size();
    if (schemeLength == 0)
        return QStringLiteral("redis URL must start with redis://, rediss:// or "
                              "redis-sentinel:// (%1)")
            .arg(kForm);
    url.tls = schemeLength == 9;
    const bool sentinel = schemeLength == 17;
    QString rest = text.mid(schemeLength);
    // The last '@' ends the user info, so an unencoded '@' (or '?') in a password still works;
    // the options start at the first '?' after it.
    if (const qsizetype at = rest.lastIndexOf(QLatin1Char('@')); at >= 0) {
        const QString info = rest.left(at);
        rest = rest.mid(at + 1);
        const qsizetype colon = info.indexOf(QLatin1Char(':'));
        url.username =
            QByteArray::fromPercentEncoding(colon >= 0 ? info.left(colon).toUtf8() : QByteArray());
        url.password = QByteArray::fromPercentEncoding(info.mid(colon + 1).toUtf8());
        if (url.password.isEmpty())
            return QStringLiteral("redis URL has an empty password (%1)").arg(kForm);
    }
    if (rest.contains(QLatin1Char('#')))
        return QStringLiteral("redis URL fragments (#...) are not supported (%1)").arg(kForm);
    if (const qsizetype q = rest.indexOf(QLatin1Char('?')); q >= 0) {
        if (auto error = parseOptions(rest.mid(q + 1), url, sentinel))
            return *error;
        rest.truncate(q);
    }
    const qsizetype slash = rest.indexOf(QLatin1Char('/'));
    const QString path = slash >= 0 ? rest.mid(slash + 1) : QString();
    const QString hosts = slash >= 0 ? rest.left(slash) : rest;
    if (sentinel) {
        // Each Sentinel in turn; the master's address comes from them.
        for (const QString& item : hosts.split(QLatin1Char(','))) {
            RedisUrl::Sentinel s;
            if (item.isEmpty())
                return QStringLiteral("redis-sentinel URL has an empty Sentinel address (%1)")
                    .arg(kForm);
            if (auto error = parseHostPort(item, &s.host, &s.port))
                return QStringLiteral("Sentinel \"%1\": ").arg(item) + *error;
            url.sentinels.append(s);
        }
        if (url.masterName.isEmpty())
            return QStringLiteral("redis-sentinel URL needs ?master=NAME, the name the Sentinels "
                                  "monitor (%1)")
                .arg(kForm);
        url.host.clear();
    } else if (auto error = parseHostPort(hosts, &url.host, &url.port)) {
        return *error;
    }
    if (!path.isEmpty() && !number(path, 0, std::numeric_limits<int>::max(), &url.db))
        return QStringLiteral("redis database must be a number such as /0, got \"/%1\"").arg(path);
    return url;
}

QString RedisUrl::endpoint() const {
    const QString where = host.isEmpty() && isSentinel() ? QStringLiteral("master ") + masterName
                                                         : hostPortText(host, port);
    return where + (db != 0 ? QStringLiteral("/%1").arg(db) : QString());
}

QString RedisUrl::sentinelList() const {
    QStringList out;
    for (const Sentinel& s : sentinels)
        out.append(hostPortText(s.host, s.port));
    return out.join(QLatin1Char(','));
}

QString RedisUrl::redacted() const {
    QString auth;
    if (!password.isEmpty())
        auth = QString::fromUtf8(QUrl::toPercentEncoding(QString::fromUtf8(username))) +
               QStringLiteral(":***@");
    QStringList options;
    for (const auto& [key, value] :
         {std::pair{"ca", &caFile}, std::pair{"cert", &certFile}, std::pair{"key", &keyFile}})
        if (!value->isEmpty())
            options.append(QLatin1String(key) + QLatin1Char('=') +
                           QString::fromUtf8(QUrl::toPercentEncoding(*value, "/")));
    if (tls && !verifyPeer)
        options.append(QStringLiteral("verify=none"));
    if (isSentinel()) {
        options.prepend(QStringLiteral("master=") +
                        QString::fromUtf8(QUrl::toPercentEncoding(masterName)));
        if (!sentinelUsername.isEmpty())
            options.append(
                QStringLiteral("sentinel_user=") +
                QString::fromUtf8(QUrl::toPercentEncoding(QString::fromUtf8(sentinelUsername))));
        if (!sentinelPassword.isEmpty())
            options.append(QStringLiteral("sentinel_password=***"));
        return QStringLiteral("redis-sentinel://") + auth + sentinelList() +
               (db != 0 ? QStringLiteral("/%1").arg(db) : QString()) + QLatin1Char('?') +
               options.join(QLatin1Char('&'));
    }
    return (tls ? QStringLiteral("rediss://") : QStringLiteral("redis://")) + auth + endpoint() +
           (options.isEmpty() ? QString() : QLatin1Char('?') + options.join(QLatin1Char('&')));
}

} // namespace herald

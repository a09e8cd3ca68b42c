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

const QLatin1String kForm("expected redis[s]://[[user]:password@]host[:port][/db][?options]");

// Digits only: toInt() alone would also take "+1" or " 1".
bool number(const QString& s, int min, int max, int* out) {
    bool ok = false;
    const int n = s.toInt(&ok);
    if (!ok || s.isEmpty() || !s.front().isDigit() || n < min || n > max)
        return false;
    *out = n;
    return true;
}

// "ca=...&cert=...": the TLS options. Values are file paths; nothing here touches the files
// (they are read at each connection attempt, so a fixed or rotated file is picked up).
std::optional<QString> parseOptions(const QString& query, RedisUrl& url) {
    for (const QString& item : query.split(QLatin1Char('&'), Qt::SkipEmptyParts)) {
        const qsizetype eq = item.indexOf(QLatin1Char('='));
        const QString key = item.left(eq);
        const QString value =
            eq < 0 ? QString()
                   : QString::fromUtf8(QByteArray::fromPercentEncoding(item.mid(eq + 1).toUtf8()));
        QString* file = key == QLatin1String("ca")     ? &url.caFile
                        : key == QLatin1String("cert") ? &url.certFile
                        : key == QLatin1String("key")  ? &url.keyFile
                                                       : nullptr;
        if (!file && key != QLatin1String("verify"))
            return QStringLiteral("redis URL option \"%1\" is not supported (known: ca, cert, key, "
                                  "verify)")
                .arg(key);
        if (!url.tls)
            return QStringLiteral("redis URL option \"%1\" needs rediss:// (TLS)").arg(key);
        if (value.isEmpty())
            return QStringLiteral("redis URL option \"%1\" needs a value").arg(key);
        if (file) {
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

} // namespace

std::variant<RedisUrl, QString> RedisUrl::parse(const QString& text) {
    // Errors never echo the whole URL: it may hold a password.
    RedisUrl url;
    qsizetype schemeLength = 0;
    for (const QLatin1String scheme : {QLatin1String("redis://"), QLatin1String("rediss://")})
        if (text.startsWith(scheme, Qt::CaseInsensitive))
            schemeLength = scheme.size();
    if (schemeLength == 0)
        return QStringLiteral("redis URL must start with redis:// or rediss:// (%1)").arg(kForm);
    url.tls = schemeLength == 9;
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
        if (auto error = parseOptions(rest.mid(q + 1), url))
            return *error;
        rest.truncate(q);
    }
    const qsizetype slash = rest.indexOf(QLatin1Char('/'));
    const QString path = slash >= 0 ? rest.mid(slash + 1) : QString();
    // "[v6]" or a name without ':' or brackets, then an optional ":port".
    static const QRegularExpression hostPort(
        QStringLiteral(R"(^(?:\[([^\]]*)\]|([^:\[\]]*))(?::([^:]*))?$)"));
    const QRegularExpressionMatch m = hostPort.match(slash >= 0 ? rest.left(slash) : rest);
    if (!m.hasMatch())
        return rest.startsWith(QLatin1Char('['))
                   ? QStringLiteral("a bracketed redis host must be [IPv6] or [IPv6]:port")
                   : QStringLiteral(
                         "an IPv6 host must be written in brackets, e.g. redis://[::1]:6379");
    static const QRegularExpression hostName(QStringLiteral("^[A-Za-z0-9._-]+$"));
    const bool v6 = m.capturedStart(1) >= 0;
    url.host = m.captured(v6 ? 1 : 2);
    if (v6 && QHostAddress(url.host).protocol() != QAbstractSocket::IPv6Protocol)
        return QStringLiteral("\"%1\" in brackets is not an IPv6 address").arg(url.host);
    if (url.host.isEmpty())
        return QStringLiteral("redis URL has no host (%1)").arg(kForm);
    if (!v6 && !hostName.match(url.host).hasMatch())
        return QStringLiteral("\"%1\" is not a valid host name").arg(url.host);
    int port = url.port;
    if (m.capturedStart(3) >= 0 && !number(m.captured(3), 1, 65535, &port))
        return QStringLiteral("redis port must be 1-65535, got \"%1\"").arg(m.captured(3));
    url.port = static_cast<quint16>(port);
    if (!path.isEmpty() && !number(path, 0, std::numeric_limits<int>::max(), &url.db))
        return QStringLiteral("redis database must be a number such as /0, got \"/%1\"").arg(path);
    return url;
}

QString RedisUrl::endpoint() const {
    const QString h = host.contains(QLatin1Char(':'))
                          ? QString(QLatin1Char('[') + host + QLatin1Char(']'))
                          : host;
    return h + QLatin1Char(':') + QString::number(port) +
           (db != 0 ? QStringLiteral("/%1").arg(db) : QString());
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
    return (tls ? QStringLiteral("rediss://") : QStringLiteral("redis://")) + auth + endpoint() +
           (options.isEmpty() ? QString() : QLatin1Char('?') + options.join(QLatin1Char('&')));
}

} // namespace herald

#include "shared/ServerUrl.h"

namespace herald::serverurl {

std::optional<QUrl> normalise(const QString& text) {
    QString spec = text.trimmed();
    if (spec.isEmpty())
        return std::nullopt;
    if (!spec.contains(QLatin1String("://")))
        spec.prepend(QLatin1String("http://"));
    QUrl url(spec, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty() || url.hasQuery() || url.hasFragment() ||
        !url.userInfo().isEmpty())
        return std::nullopt;
    const QString scheme = url.scheme().toLower();
    if (scheme == QLatin1String("ws") || scheme == QLatin1String("http"))
        url.setScheme(QStringLiteral("http"));
    else if (scheme == QLatin1String("wss") || scheme == QLatin1String("https"))
        url.setScheme(QStringLiteral("https"));
    else
        return std::nullopt;
    QString path = url.path();
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    url.setPath(path);
    return url;
}

QUrl api(const QUrl& base, const QString& path) {
    QUrl url = base;
    url.setPath(base.path() + path);
    return url;
}

QUrl webSocket(const QUrl& base, const QString& path) {
    QUrl url = api(base, path);
    url.setScheme(base.scheme() == QLatin1String("https") ? QStringLiteral("wss")
                                                          : QStringLiteral("ws"));
    return url;
}

} // namespace herald::serverurl

#include "server/ConfigValues.h"

#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>

namespace herald::configvalues {

QString showDuration(qint64 ms) {
    if (ms % 60'000 == 0 && ms >= 60'000)
        return QString::number(ms / 60'000) + QLatin1Char('m');
    if (ms % 1000 == 0)
        return QString::number(ms / 1000) + QLatin1Char('s');
    return QString::number(ms) + QStringLiteral("ms");
}

std::optional<QString> parseInt(const QString& value, qint64 min, qint64 max, qint64* out) {
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    if (!ok || n < min || n > max)
        return QStringLiteral("expected a whole number from %1 to %2, got \"%3\"")
            .arg(min)
            .arg(max)
            .arg(value);
    *out = n;
    return std::nullopt;
}

std::optional<qint64> durationMs(const QString& text) {
    QString v = text.trimmed().toLower();
    qint64 scale = 1000;
    for (auto [suffix, unit] :
         {std::pair{"ms", 1LL}, std::pair{"s", 1000LL}, std::pair{"m", 60'000LL},
          std::pair{"h", 3'600'000LL}, std::pair{"d", 86'400'000LL}}) {
        if (v.endsWith(QLatin1String(suffix))) {
            scale = unit;
            v.chop(qsizetype(qstrlen(suffix)));
            break;
        }
    }
    bool ok = false;
    const double n = v.toDouble(&ok);
    // Bounded before the conversion: a huge number must not overflow into a small one.
    if (!ok || n < 0 || n * double(scale) > 1e15)
        return std::nullopt;
    return static_cast<qint64>(n * double(scale));
}

std::optional<QString> parseDurationMs(const QString& text, qint64* outMs) {
    const auto ms = durationMs(text);
    if (!ms || *ms > 86'400'000)
        return QStringLiteral("expected a duration such as 500ms, 10s or 2m, got \"%1\"").arg(text);
    *outMs = *ms;
    return std::nullopt;
}

std::optional<QString> parseBool(const QString& value, bool* out) {
    const QString v = value.trimmed().toLower();
    if (v == QLatin1String("1") || v == QLatin1String("true") || v == QLatin1String("yes") ||
        v == QLatin1String("on")) {
        *out = true;
        return std::nullopt;
    }
    if (v == QLatin1String("0") || v == QLatin1String("false") || v == QLatin1String("no") ||
        v == QLatin1String("off")) {
        *out = false;
        return std::nullopt;
    }
    return QStringLiteral("expected true or false, got \"%1\"").arg(value);
}

std::optional<QString> parseListen(const QString& text, Config& c) {
    QString host;
    QString port = text.trimmed();
    const qsizetype colon = port.lastIndexOf(QLatin1Char(':'));
    if (colon >= 0) {
        host = port.left(colon);
        port = port.mid(colon + 1);
    }
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    qint64 p = 0;
    if (parseInt(port, 0, 65535, &p))
        return QStringLiteral("expected ADDR:PORT such as 127.0.0.1:8080, got \"%1\"").arg(text);
    if (host.isEmpty() || host == QLatin1String("*")) {
        c.listenAddress = QHostAddress(QHostAddress::Any);
    } else if (host == QLatin1String("localhost")) {
        c.listenAddress = QHostAddress(QHostAddress::LocalHost);
    } else if (QHostAddress addr; addr.setAddress(host)) {
        c.listenAddress = addr;
    } else {
        return QStringLiteral("\"%1\" is not an IP address").arg(host);
    }
    c.listenPort = static_cast<quint16>(p);
    return std::nullopt;
}

QByteArrayList splitTokens(const QString& value) {
    QByteArrayList out;
    for (const QString& part : value.split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (!part.trimmed().isEmpty())
            out.append(part.trimmed().toUtf8());
    return out;
}

std::optional<QString> readSecretFile(const QString& path, QByteArray* out) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read \"%1\": %2").arg(path, file.errorString());
    *out = file.readAll().trimmed();
    return std::nullopt;
}

// Reads a flat INI (any section) or JSON object file into key -> text.
std::variant<QList<QPair<QString, QString>>, QString> readConfigFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read config file \"%1\": %2").arg(path, file.errorString());
    QList<QPair<QString, QString>> entries;
    if (QFileInfo(path).suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0) {
        QJsonParseError err;
        const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &err);
        if (err.error != QJsonParseError::NoError || !doc.isObject())
            return QStringLiteral("config file \"%1\" is not a JSON object: %2")
                .arg(path, err.errorString());
        const QJsonObject o = doc.object();
        for (auto it = o.begin(); it != o.end(); ++it) {
            QString text;
            if (it->isArray()) {
                QStringList parts;
                for (const QJsonValue& v : it->toArray())
                    parts.append(v.toVariant().toString());
                text = parts.join(QLatin1Char(','));
            } else {
                text = it->toVariant().toString();
            }
            entries.append({it.key(), text});
        }
        return entries;
    }
    file.close();
    QSettings ini(path, QSettings::IniFormat);
    if (ini.status() != QSettings::NoError)
        return QStringLiteral("config file \"%1\" is not a valid INI file").arg(path);
    for (const QString& key : ini.allKeys()) {
        const QVariant v = ini.value(key);
        const QString text = v.typeId() == QMetaType::QStringList
                                 ? v.toStringList().join(QLatin1Char(','))
                                 : v.toString();
        entries.append({key.section(QLatin1Char('/'), -1), text});
    }
    return entries;
}

} // namespace herald::configvalues

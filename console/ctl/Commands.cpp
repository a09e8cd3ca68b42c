#include "console/ctl/Commands.h"

#include "console/ctl/Terminal.h"
#include "shared/Codec.h"
#include "shared/JwtVerifier.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QStringList>
#include <QUrl>
#include <algorithm>

namespace herald::ctl {
namespace {

QString compact(const QJsonObject& object) {
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

// A field of the cluster snapshot as text; "?" when the server did not send it.
QString fieldText(const QJsonObject& object, const char* key) {
    const QJsonValue v = object.value(QLatin1String(key));
    if (v.isString())
        return v.toString();
    if (v.isDouble())
        return QString::number(static_cast<qint64>(v.toDouble()));
    if (v.isBool())
        return v.toBool() ? QStringLiteral("yes") : QStringLiteral("no");
    return QStringLiteral("?");
}

QString plural(const QJsonObject& object, const char* key, const char* singular, const char* many) {
    const QJsonValue v = object.value(QLatin1String(key));
    const bool one = v.isDouble() && v.toDouble() == 1;
    return fieldText(object, key) + QLatin1Char(' ') + QLatin1String(one ? singular : many);
}

QByteArray readStandardInput() {
    QFile in;
    if (!in.open(stdin, QIODevice::ReadOnly))
        return {};
    return in.readAll();
}

// Shared tail of publish and broadcast: print the outcome and finish.
ApiClient::Done reportWith(const Options& options, Finish finish,
                           std::function<QString(const QJsonObject&)> describe) {
    return [options, finish = std::move(finish),
            describe = std::move(describe)](const ApiResult& result) {
        if (result.exitCode != kExitOk) {
            printApiFailure(result, options);
            return finish(result.exitCode);
        }
        printOut(options.json ? compact(result.json) : describe(result.json));
        finish(kExitOk);
    };
}

} // namespace

void printUsageError(const QString& message, Command command) {
    printError(message);
    const QString topic =
        command == Command::None || command == Command::Help || command == Command::Version
            ? QString()
            : commandName(command) + QLatin1Char(' ');
    printErrRaw(QStringLiteral("Try 'heraldctl %1--help' for more information.").arg(topic));
}

void printApiFailure(const ApiResult& result, const Options& options) {
    printError(result.message);
    if (result.status == 401) {
        if (options.token.isEmpty())
            printErrRaw(QStringLiteral("hint: pass --token TOKEN or set HERALD_API_TOKEN"));
        else
            printErrRaw(QStringLiteral("hint: the token came from %1").arg(options.tokenSource));
    }
}

int exitCodeFor(const client::Ending& ending) {
    using Kind = client::Ending::Kind;
    return ending.kind == Kind::Unreachable || ending.kind == Kind::Silent ? kExitUnreachable
                                                                           : kExitRefused;
}

void printAdminTokenHint(const Options& options) {
    if (options.token.isEmpty()) {
        printErrRaw(QStringLiteral("hint: %1 needs an admin token; pass --token TOKEN or set "
                                   "HERALD_ADMIN_TOKEN")
                        .arg(commandName(options.command)));
    } else if (options.tokenSource == QLatin1String("$HERALD_API_TOKEN")) {
        printErrRaw(
            QStringLiteral("hint: the token came from $HERALD_API_TOKEN, but /admin needs "
                           "an admin token; pass --token or set HERALD_ADMIN_TOKEN%1")
                .arg(options.command == Command::Tail
                         ? QStringLiteral(" (--token \"\" tails public streams anonymously)")
                         : QString()));
    } else {
        printErrRaw(QStringLiteral("hint: the token came from %1; the node accepts the tokens of "
                                   "its admin_tokens (--admin-tokens or HERALD_ADMIN_TOKENS)")
                        .arg(options.tokenSource));
    }
}

std::variant<QJsonValue, QString> parseJsonArgument(const QByteArray& text) {
    if (text.trimmed().isEmpty())
        return QStringLiteral(
            "the JSON argument is empty (quote it: '{\"key\": \"value\"}', '\"text\"', '42')");
    // QJsonDocument only reads objects and arrays: read the value as the element of an array.
    QByteArray wrapped;
    wrapped.reserve(text.size() + 2);
    wrapped.append('[').append(text).append(']');
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(wrapped, &error);
    if (error.error != QJsonParseError::NoError) {
        const qsizetype offset = std::clamp<qsizetype>(error.offset - 1, 0, text.size());
        QString message = QStringLiteral("the JSON argument is not valid JSON: %1 at offset %2")
                              .arg(error.errorString())
                              .arg(offset);
        if (!text.trimmed().startsWith('{') && !text.trimmed().startsWith('[') &&
            !text.trimmed().startsWith('"'))
            message += QStringLiteral(" (a text value needs JSON quotes: '\"%1\"')")
                           .arg(QString::fromUtf8(text.left(40)));
        return message;
    }
    const QJsonArray values = doc.array();
    if (values.size() != 1)
        return QStringLiteral("the JSON argument must be one JSON value, not %1")
            .arg(values.size());
    return values.first();
}

QString formatDuration(qint64 seconds) {
    if (seconds <= 0)
        return QStringLiteral("0s");
    const qint64 units[] = {86400, 3600, 60, 1};
    const char* names[] = {"d", "h", "m", "s"};
    QStringList parts;
    for (int i = 0; i < 4; ++i) {
        const qint64 n = seconds / units[i];
        seconds %= units[i];
        if (n > 0 || !parts.isEmpty())
            parts.append(QString::number(n) + QLatin1String(names[i]));
    }
    return parts.join(QLatin1Char(' '));
}

QString formatStats(const QJsonObject& cluster) {
    const QJsonObject node = cluster.value(QLatin1String("node")).toObject();
    const QJsonObject totals = cluster.value(QLatin1String("totals")).toObject();
    QStringList lines;
    auto line = [&lines](const char* key, const QString& value) {
        lines.append(QLatin1String(key) + QStringLiteral(": ") + value);
    };
    line("node", fieldText(node, "id"));
    line("address", fieldText(node, "address"));
    line("version", fieldText(node, "version"));
    line("state", fieldText(node, "state"));
    const QJsonValue uptime = node.value(QLatin1String("uptime_seconds"));
    line("uptime", uptime.isDouble() ? formatDuration(static_cast<qint64>(uptime.toDouble()))
                                     : QStringLiteral("?"));
    line("connections", fieldText(node, "connections"));
    line("users", fieldText(node, "users"));
    line("streams", fieldText(node, "streams"));
    line("subscriptions", fieldText(node, "subscriptions"));
    line("messages", QStringLiteral("%1 in, %2 published, %3 deliveries, %4 drops")
                         .arg(fieldText(node, "messages_in"), fieldText(node, "published"),
                              fieldText(node, "deliveries"), fieldText(node, "drops")));
    const QJsonValue ready = node.value(QLatin1String("broker_ready"));
    line("broker", fieldText(node, "broker") +
                       (ready.isBool() ? (ready.toBool() ? QStringLiteral(" (ready)")
                                                         : QStringLiteral(" (NOT READY)"))
                                       : QString()));
    line("cluster", QStringLiteral("%1, %2, %3")
                        .arg(plural(totals, "nodes", "node", "nodes"),
                             plural(totals, "connections", "connection", "connections"),
                             plural(totals, "users", "user", "users")));
    const QJsonArray nodes = cluster.value(QLatin1String("nodes")).toArray();
    if (nodes.size() > 1) {
        lines.append(QStringLiteral("nodes:"));
        for (const QJsonValue& v : nodes) {
            const QJsonObject n = v.toObject();
            lines.append(QStringLiteral("  %1 %2 %3 connections: %4 users: %5")
                             .arg(fieldText(n, "id"), fieldText(n, "state"),
                                  fieldText(n, "address"), fieldText(n, "connections"),
                                  fieldText(n, "users")));
        }
    }
    return lines.join(QLatin1Char('\n'));
}

void startPublish(const Options& options, ApiClient& api, Finish finish) {
    const QString& argument = options.args[1];
    const QByteArray text =
        argument == QLatin1String("-") ? readStandardInput() : argument.toUtf8();
    auto parsed = parseJsonArgument(text);
    if (auto* error = std::get_if<QString>(&parsed)) {
        printUsageError(*error, Command::Publish);
        return finish(kExitUsage);
    }
    const PublishRequest request{options.args[0], options.user, std::get<QJsonValue>(parsed)};
    api.post(QStringLiteral("/api/publish"), codec::encode(request),
             reportWith(options, std::move(finish), [](const QJsonObject& answer) {
                 return QStringLiteral("published %1 to %2")
                     .arg(fieldText(answer, "id"), fieldText(answer, "stream"));
             }));
}

void startBroadcast(const Options& options, ApiClient& api, Finish finish) {
    const BroadcastRequest request{SystemNotice{options.title, options.args[0], options.level},
                                   options.stickyTtlMs};
    api.post(QStringLiteral("/api/broadcast"), codec::encode(request),
             reportWith(options, std::move(finish), [](const QJsonObject& answer) -> QString {
                 const QString line = QStringLiteral("broadcast %1").arg(fieldText(answer, "id"));
                 const qint64 until = answer.value(QLatin1String("expires_at")).toInteger();
                 if (until <= 0)
                     return line;
                 return line + QStringLiteral(" (sticky until %1; heraldctl withdraw %2 ends it)")
                                   .arg(QDateTime::fromMSecsSinceEpoch(until, Qt::UTC)
                                            .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss 'UTC'")),
                                        fieldText(answer, "id"));
             }));
}

void startWithdraw(const Options& options, ApiClient& api, Finish finish) {
    api.del(QStringLiteral("/api/broadcast/") +
                QString::fromLatin1(QUrl::toPercentEncoding(options.args[0].trimmed())),
            reportWith(options, std::move(finish), [](const QJsonObject& answer) {
                return QStringLiteral("withdrew %1").arg(fieldText(answer, "id"));
            }));
}

QString formatSticky(const QJsonObject& answer, qint64 nowMs) {
    const QJsonArray notices = answer.value(QLatin1String("sticky")).toArray();
    if (notices.isEmpty())
        return QStringLiteral("no active sticky notices");
    QStringList lines;
    for (const QJsonValue& v : notices) {
        const QJsonObject n = v.toObject();
        const qint64 left = (n.value(QLatin1String("expires_at")).toInteger() - nowMs) / 1000;
        const QString title = fieldText(n, "title");
        lines.append(QStringLiteral("%1  %2  %3 left  %4")
                         .arg(fieldText(n, "id"), fieldText(n, "level"),
                              formatDuration(std::max<qint64>(0, left)),
                              title.isEmpty() ? fieldText(n, "body").left(60) : title));
    }
    return lines.join(QLatin1Char('\n'));
}

void startSticky(const Options& options, ApiClient& api, Finish finish) {
    api.get(QStringLiteral("/api/broadcast"),
            reportWith(options, std::move(finish), [](const QJsonObject& answer) {
                return formatSticky(answer, QDateTime::currentMSecsSinceEpoch());
            }));
}

void startStats(const Options& options, ApiClient& api, Finish finish) {
    api.get(QStringLiteral("/api/cluster"), reportWith(options, std::move(finish), &formatStats));
}

int runToken(const Options& options, qint64 nowSeconds) {
    QJsonObject claims{{QStringLiteral("sub"), options.user},
                       {QStringLiteral("iat"), nowSeconds},
                       {QStringLiteral("exp"), nowSeconds + options.ttlSeconds}};
    if (!options.audience.isEmpty())
        claims.insert(QStringLiteral("aud"), options.audience);
    if (!options.issuer.isEmpty())
        claims.insert(QStringLiteral("iss"), options.issuer);
    const QByteArray token = mintHs256(claims, options.secret);
    if (token.isEmpty()) {
        printError(QStringLiteral("could not sign the token"));
        return kExitRefused;
    }
    if (options.json) {
        QJsonObject out = claims;
        out.insert(QStringLiteral("token"), QString::fromLatin1(token));
        printOut(compact(out));
    } else {
        printOut(QString::fromLatin1(token));
    }
    return kExitOk;
}

} // namespace herald::ctl

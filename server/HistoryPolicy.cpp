#include "server/HistoryPolicy.h"

#include "server/ConfigValues.h"
#include "shared/Streams.h"

#include <QStringList>

namespace herald {
namespace {

constexpr qint64 kMaxAgeMs = 30LL * 86'400'000; // 30 days
constexpr int kMaxCount = 1'000'000;

// As every duration setting ("90s", "15m", "1h", "7d"), more than 0 and at most kMaxAgeMs.
std::optional<qint64> parseAge(const QString& text) {
    const auto ms = configvalues::durationMs(text);
    if (!ms || *ms <= 0 || *ms > kMaxAgeMs)
        return std::nullopt;
    return ms;
}

QString showAge(qint64 ms) {
    for (auto [unit, scale] : {std::pair{'d', 86'400'000LL}, std::pair{'h', 3'600'000LL},
                               std::pair{'m', 60'000LL}, std::pair{'s', 1000LL}})
        if (ms % scale == 0)
            return QString::number(ms / scale) + QLatin1Char(unit);
    return QString::number(ms) + QStringLiteral("ms");
}

} // namespace

std::variant<HistoryPolicy, QString> HistoryPolicy::parse(const QString& spec) {
    HistoryPolicy policy;
    for (const QString& part : spec.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString item = part.trimmed();
        if (item.isEmpty())
            continue;
        const QStringList fields = item.split(QLatin1Char(':'));
        if (fields.size() != 3)
            return QStringLiteral("history rule \"%1\" must look like pattern:count:age "
                                  "(e.g. public.*:100:1h)")
                .arg(item);
        Rule rule;
        rule.pattern = fields[0].trimmed();
        if (rule.pattern.endsWith(QLatin1Char('*'))) {
            rule.prefix = true;
            rule.pattern.chop(1);
        }
        if (rule.pattern.contains(QLatin1Char('*')) || (!rule.prefix && rule.pattern.isEmpty()))
            return QStringLiteral("history rule \"%1\": the pattern is a routing key or a prefix "
                                  "ending in *")
                .arg(item);
        if (!rule.prefix) {
            const auto key = streams::parseRoutingKey(rule.pattern);
            if (!key || key->kind == streams::Kind::System || key->kind == streams::Kind::Online)
                return QStringLiteral("history rule \"%1\": \"%2\" is not a stream's routing key "
                                      "(public.<stream> or private.<user>.<stream>)")
                    .arg(item, rule.pattern);
        }
        bool ok = false;
        rule.retention.count = fields[1].trimmed().toInt(&ok);
        if (!ok || rule.retention.count < 0 || rule.retention.count > kMaxCount)
            return QStringLiteral("history rule \"%1\": the count must be 0 to %2")
                .arg(item)
                .arg(kMaxCount);
        const auto age = parseAge(fields[2]);
        if (!age)
            return QStringLiteral("history rule \"%1\": the age must be a duration such as 90s, "
                                  "15m, 1h or 7d, at most 30d")
                .arg(item);
        rule.retention.ageMs = *age;
        for (const Rule& other : policy.rules_)
            if (other.pattern == rule.pattern && other.prefix == rule.prefix)
                return QStringLiteral("history rule for \"%1\" is given twice").arg(fields[0]);
        policy.rules_.append(rule);
    }
    return policy;
}

std::optional<Retention> HistoryPolicy::retentionFor(const QString& routingKey) const {
    const Rule* best = nullptr;
    for (const Rule& rule : rules_) {
        if (!rule.prefix) {
            if (rule.pattern == routingKey) {
                best = &rule;
                break;
            }
        } else if (routingKey.startsWith(rule.pattern) &&
                   (!best || rule.pattern.size() > best->pattern.size())) {
            best = &rule;
        }
    }
    if (!best || best->retention.count == 0)
        return std::nullopt;
    // Only streams: the system stream and the online feed have their own rules.
    if (routingKey == streams::kSystemKey || routingKey == streams::kOnlineKey)
        return std::nullopt;
    return best->retention;
}

QString HistoryPolicy::describe() const {
    QStringList parts;
    for (const Rule& rule : rules_)
        parts.append(QStringLiteral("%1%2:%3:%4")
                         .arg(rule.pattern, rule.prefix ? QStringLiteral("*") : QString())
                         .arg(rule.retention.count)
                         .arg(showAge(rule.retention.ageMs)));
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral(", "));
}

} // namespace herald

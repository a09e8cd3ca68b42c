#pragma once

#include <QList>
#include <QString>
#include <optional>
#include <variant>

namespace herald {

// How much of a stream's past is kept for clients that resume with `since`.
struct Retention {
    int count = 0;    // at most about this many messages (Redis trims approximately)
    qint64 ageMs = 0; // and none older than this
    bool operator==(const Retention&) const = default;
};

// The `history` setting: "public.*:100:1h, private.*:50:24h, public.config:1:7d". A rule is a
// routing key, or a prefix ending in '*'; the most specific rule (exact, then longest prefix)
// decides, and a count of 0 keeps nothing for what it matches. Streams no rule matches, the
// system stream and the online feed keep no history.
class HistoryPolicy {
public:
    static std::variant<HistoryPolicy, QString> parse(const QString& spec);

    std::optional<Retention> retentionFor(const QString& routingKey) const;
    bool isEmpty() const { return rules_.isEmpty(); }
    QString describe() const; // the rules, normalised, for the startup log

private:
    struct Rule {
        QString pattern; // without the trailing '*'
        bool prefix = false;
        Retention retention;
    };
    QList<Rule> rules_;
};

} // namespace herald

#include "server/Logging.h"

#include <QLoggingCategory>
#include <QStringList>

namespace herald {

void installLogging(const QString& level) {
    qSetMessagePattern(QStringLiteral("%{time yyyy-MM-ddTHH:mm:ss.zzz} %{if-debug}debug%{endif}"
                                      "%{if-info}info %{endif}%{if-warning}warn %{endif}"
                                      "%{if-critical}error%{endif}%{if-fatal}fatal%{endif} "
                                      "%{category}: %{message}"));
    const QStringList order{QStringLiteral("debug"), QStringLiteral("info"),
                            QStringLiteral("warning"), QStringLiteral("error")};
    const qsizetype threshold = std::max<qsizetype>(0, order.indexOf(level));
    QString rules;
    const char* qtLevels[] = {"debug", "info", "warning", "critical"};
    for (qsizetype i = 0; i < 4; ++i) {
        const bool on = i >= threshold;
        rules += QStringLiteral("herald.*.%1=%2\n")
                     .arg(QLatin1String(qtLevels[i]),
                          on ? QStringLiteral("true") : QStringLiteral("false"));
        // Qt's own categories stay quiet below warning unless debugging.
        if (i >= 2)
            rules += QStringLiteral("*.%1=%2\n")
                         .arg(QLatin1String(qtLevels[i]),
                              on ? QStringLiteral("true") : QStringLiteral("false"));
    }
    QLoggingCategory::setFilterRules(rules);
}

} // namespace herald

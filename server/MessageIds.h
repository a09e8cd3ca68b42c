#pragma once

#include <QDateTime>
#include <QString>

namespace herald {

// Message ids of this node: sortable by time, unique across nodes and restarts,
// <ms base36>-<node>-<seq base36>. Given to producers' messages and to bus messages that came
// without one (a plain PUBLISH from another service).
class MessageIds {
public:
    explicit MessageIds(QString nodeId)
        : nodeId_(std::move(nodeId)) {}
    QString next() {
        return QString::number(QDateTime::currentMSecsSinceEpoch(), 36) + QLatin1Char('-') +
               nodeId_ + QLatin1Char('-') + QString::number(++sequence_, 36);
    }

private:
    QString nodeId_;
    quint64 sequence_ = 0;
};

} // namespace herald

#pragma once

#include "shared/Admin.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointF>

namespace herald::console {

// Connections per node and in total over a sliding window (default 10 minutes), one sample per
// snapshot, for the dashboard chart. Kept apart from the chart so the history survives the view
// and can be tested without widgets.
class ConnectionsHistory : public QObject {
    Q_OBJECT
public:
    explicit ConnectionsHistory(QObject* parent = nullptr);

    void setWindowMs(qint64 ms) { windowMs_ = ms; }
    qint64 windowMs() const { return windowMs_; }
    void record(const admin::ClusterSnapshot& snapshot, qint64 atMs);

    // x: ms since epoch, y: connections.
    const QList<QPointF>& total() const { return total_; }
    const QHash<QString, QList<QPointF>>& perNode() const { return nodes_; }
    qint64 latestMs() const { return latestMs_; }
    qint64 maxValue() const;

Q_SIGNALS:
    void sampled(qint64 atMs);
    void nodeAdded(const QString& id);
    void nodeRemoved(const QString& id);

private:
    void trim(QList<QPointF>& points) const;

    QList<QPointF> total_;
    QHash<QString, QList<QPointF>> nodes_;
    qint64 windowMs_ = 10 * 60 * 1000;
    qint64 latestMs_ = 0;
};

} // namespace herald::console

#include "console/app/ConnectionsHistory.h"

namespace herald::console {

ConnectionsHistory::ConnectionsHistory(QObject* parent)
    : QObject(parent) {}

void ConnectionsHistory::trim(QList<QPointF>& points) const {
    const double oldest = static_cast<double>(latestMs_ - windowMs_);
    qsizetype drop = 0;
    while (drop < points.size() && points.at(drop).x() < oldest)
        ++drop;
    if (drop)
        points.remove(0, drop);
}

void ConnectionsHistory::record(const admin::ClusterSnapshot& snapshot, qint64 atMs) {
    latestMs_ = atMs;
    const double x = static_cast<double>(atMs);
    total_.append({x, static_cast<double>(snapshot.connections)});
    trim(total_);
    for (const cluster::NodeInfo& n : snapshot.nodes) {
        auto it = nodes_.find(n.id);
        const bool added = it == nodes_.end();
        if (added)
            it = nodes_.insert(n.id, {});
        it->append({x, static_cast<double>(n.connections)});
        if (added)
            Q_EMIT nodeAdded(n.id);
    }
    // A node that stopped reporting keeps its line until the line has scrolled out of the window.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        trim(*it);
        if (it->isEmpty()) {
            const QString id = it.key();
            it = nodes_.erase(it);
            Q_EMIT nodeRemoved(id);
        } else {
            ++it;
        }
    }
    Q_EMIT sampled(atMs);
}

qint64 ConnectionsHistory::maxValue() const {
    double m = 0;
    for (const QPointF& p : total_)
        m = std::max(m, p.y());
    return static_cast<qint64>(m);
}

} // namespace herald::console

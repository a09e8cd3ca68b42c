#include "console/app/NodesModel.h"

#include <QDateTime>
#include <QSet>

namespace herald::console {

QString formatDuration(qint64 ms) {
    if (ms < 0)
        return QStringLiteral("–");
    const qint64 s = ms / 1000;
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    if (s < 86400)
        return QStringLiteral("%1 h %2 min")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 d %2 h").arg(s / 86400).arg((s / 3600) % 24);
}

NodesModel::NodesModel(QObject* parent)
    : QAbstractTableModel(parent)
    , clock_([] { return QDateTime::currentMSecsSinceEpoch(); }) {
    // Without a timer a dead connection would freeze the table in its last, falsely live state.
    ticker_.setInterval(1000);
    connect(&ticker_, &QTimer::timeout, this, &NodesModel::tick);
    ticker_.start();
}

int NodesModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}
int NodesModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NodesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* const names[] = {"Node",       "Address",       "State",     "Connections",
                                        "Users",      "Subscriptions", "Msgs in/s", "Deliveries/s",
                                        "Broker lag", "Uptime",        "Version"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

QString NodesModel::stateOf(int row) const {
    return stateName(rows_.at(row));
}

QString NodesModel::stateName(const Row& r) {
    if (r.downSinceMs)
        return QStringLiteral("down");
    if (r.stale)
        return QStringLiteral("stale");
    return cluster::nodeStateName(r.info.state);
}

QVariant NodesModel::display(const Row& r, int column) const {
    switch (column) {
    case Id:
        return r.info.id;
    case Address:
        return r.info.address;
    case State:
        return r.downSinceMs ? tr("down for %1").arg(formatDuration(clock_() - r.downSinceMs))
                             : stateName(r);
    case Connections:
        return r.info.connections;
    case Users:
        return r.info.users;
    case Subscriptions:
        return r.info.subscriptions;
    case MessagesIn:
        return QString::number(r.info.messagesInPerSecond, 'f', 1);
    case Deliveries:
        return QString::number(r.info.deliveriesPerSecond, 'f', 1);
    case BrokerLag:
        return r.info.brokerLagMs < 0 ? tr("–") : tr("%1 ms").arg(r.info.brokerLagMs);
    case Uptime:
        return r.info.startedAtMs > 0 && !r.downSinceMs
                   ? formatDuration(r.seenAtMs - r.info.startedAtMs)
                   : tr("–");
    case Version:
        return r.info.version;
    default:
        return {};
    }
}

QVariant NodesModel::sortValue(const Row& r, int column) const {
    // Columns that display formatted text sort by the number behind it.
    switch (column) {
    case MessagesIn:
        return r.info.messagesInPerSecond;
    case Deliveries:
        return r.info.deliveriesPerSecond;
    case BrokerLag:
        return r.info.brokerLagMs;
    case Uptime:
        return r.info.startedAtMs > 0 ? r.seenAtMs - r.info.startedAtMs : qint64(-1);
    default:
        return display(r, column);
    }
}

QVariant NodesModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_.size())
        return {};
    const Row& r = rows_.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return display(r, index.column());
    case SortRole:
        return sortValue(r, index.column());
    case StateRole:
        return stateName(r);
    case NodeIdRole:
        return r.info.id;
    case Qt::TextAlignmentRole:
        return index.column() >= Connections && index.column() <= BrokerLag
                   ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
                   : QVariant();
    default:
        return {};
    }
}

void NodesModel::applySnapshot(const admin::ClusterSnapshot& snapshot) {
    const qint64 now = clock_();
    lastSnapshotMs_ = now;
    QSet<QString> listed;
    QList<cluster::NodeInfo> fresh;
    for (const cluster::NodeInfo& n : snapshot.nodes) {
        listed.insert(n.id);
        auto it = std::find_if(rows_.begin(), rows_.end(),
                               [&](const Row& r) { return r.info.id == n.id; });
        if (it == rows_.end()) {
            fresh.append(n);
            continue;
        }
        if (it->downSinceMs)
            Q_EMIT nodeCameBack(n.id);
        it->info = n;
        it->seenAtMs = now;
        it->downSinceMs = 0;
        it->stale = false;
    }
    for (Row& r : rows_) {
        if (!listed.contains(r.info.id) && !r.downSinceMs) {
            r.downSinceMs = now;
            Q_EMIT nodeWentDown(r.info.id, r.info.address);
        }
    }
    // One dataChanged for the whole table: cheaper for views than one per row with 50 nodes.
    rowsChanged(0, static_cast<int>(rows_.size()) - 1);
    if (!fresh.isEmpty()) {
        beginInsertRows({}, static_cast<int>(rows_.size()),
                        static_cast<int>(rows_.size() + fresh.size()) - 1);
        for (const cluster::NodeInfo& n : fresh)
            rows_.append(Row{n, now, 0, false});
        endInsertRows();
    }
    connections_ = snapshot.connections;
    users_ = snapshot.users;
    tick();
    Q_EMIT totalsChanged();
}

void NodesModel::tick() {
    const qint64 now = clock_();
    bool changed = false;
    for (int i = static_cast<int>(rows_.size()) - 1; i >= 0; --i) {
        Row& r = rows_[i];
        if (r.downSinceMs && now - r.downSinceMs >= downRetentionMs_) {
            beginRemoveRows({}, i, i);
            rows_.removeAt(i);
            endRemoveRows();
            continue;
        }
        const bool stale = !r.downSinceMs && now - r.seenAtMs > staleAfterMs_;
        changed = changed || stale != r.stale || r.downSinceMs;
        r.stale = stale;
    }
    if (changed)
        rowsChanged(0, static_cast<int>(rows_.size()) - 1);
}

void NodesModel::rowsChanged(int first, int last) {
    if (last >= first)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

int NodesModel::liveNodes() const {
    return static_cast<int>(
        std::count_if(rows_.begin(), rows_.end(), [](const Row& r) { return !r.downSinceMs; }));
}

int NodesModel::downNodes() const {
    return static_cast<int>(rows_.size()) - liveNodes();
}

const cluster::NodeInfo* NodesModel::liveNode(const QString& id) const {
    for (const Row& r : rows_)
        if (r.info.id == id && !r.downSinceMs)
            return &r.info;
    return nullptr;
}

QStringList NodesModel::liveNodeIds() const {
    QStringList ids;
    for (const Row& r : rows_)
        if (!r.downSinceMs)
            ids.append(r.info.id);
    return ids;
}

} // namespace herald::console

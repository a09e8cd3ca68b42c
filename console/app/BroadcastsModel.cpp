#include "console/app/BroadcastsModel.h"

#include <QDateTime>

namespace herald::console {

QString describeTarget(const admin::Target& target) {
    if (target.kind == admin::Target::Kind::All)
        return QObject::tr("everyone");
    return cluster::targetKindName(target.kind) + QLatin1Char(' ') + target.value;
}

qint64 BroadcastsModel::Entry::delivered() const {
    qint64 sum = 0;
    for (qint64 n : deliveredByNode)
        sum += n;
    return sum;
}

BroadcastsModel::BroadcastsModel(QObject* parent)
    : QAbstractTableModel(parent) {}

int BroadcastsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}
int BroadcastsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant BroadcastsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* const names[] = {"Sent",  "Target",    "Title",
                                        "Level", "Delivered", "Per node"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

QVariant BroadcastsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= entries_.size())
        return {};
    const Entry& e = entries_.at(index.row());
    if (role == RequestIdRole)
        return e.command.requestId;
    if (role == LevelRole)
        return levelName(e.command.notice.level);
    if (role == SortRole && index.column() == Time)
        return e.sentAtMs;
    if (role == SortRole && index.column() == Delivered)
        return e.delivered();
    if (role != Qt::DisplayRole && role != SortRole && role != Qt::ToolTipRole)
        return {};
    switch (index.column()) {
    case Time:
        return QDateTime::fromMSecsSinceEpoch(e.sentAtMs).toString(QStringLiteral("HH:mm:ss"));
    case Target:
        return describeTarget(e.command.target);
    case Title:
        return role == Qt::ToolTipRole ? e.command.notice.body : e.command.notice.title;
    case Level:
        return levelName(e.command.notice.level);
    case Delivered:
        return e.reported ? QVariant(e.delivered()) : QVariant(tr("waiting…"));
    case PerNode: {
        QStringList parts;
        for (auto it = e.deliveredByNode.begin(); it != e.deliveredByNode.end(); ++it)
            parts.append(QStringLiteral("%1: %2").arg(it.key()).arg(it.value()));
        return parts.join(QStringLiteral(", "));
    }
    default:
        return {};
    }
}

void BroadcastsModel::addSent(const admin::BroadcastCommand& command, qint64 sentAtMs) {
    beginInsertRows({}, 0, 0);
    entries_.prepend(Entry{command, sentAtMs, {}, {}, false});
    endInsertRows();
}

int BroadcastsModel::rowOf(const QString& requestId) const {
    for (int i = 0; i < entries_.size(); ++i)
        if (entries_.at(i).command.requestId == requestId)
            return i;
    return -1;
}

void BroadcastsModel::applyReport(const admin::BroadcastReport& report) {
    const int row = rowOf(report.requestId);
    if (row < 0)
        return; // another console's broadcast; the audit view lists those
    Entry& e = entries_[row];
    e.messageId = report.messageId;
    e.reported = true;
    // Merge rather than replace: a report may carry only the nodes that reported since the last.
    for (auto it = report.deliveredByNode.begin(); it != report.deliveredByNode.end(); ++it)
        e.deliveredByNode.insert(it.key(), it.value());
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

} // namespace herald::console

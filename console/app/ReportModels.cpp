#include "console/app/ReportModels.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace herald::console {
namespace {
QVariant header(const char* const* names, int count, int section, Qt::Orientation o, int role) {
    if (o != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= count)
        return {};
    return QObject::tr(names[section]);
}
QString clock(qint64 ms) {
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}
} // namespace

StreamsModel::StreamsModel(QObject* parent)
    : QAbstractTableModel(parent) {}
int StreamsModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : static_cast<int>(streams_.size());
}
int StreamsModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant StreamsModel::headerData(int s, Qt::Orientation o, int role) const {
    static const char* const names[] = {"Stream", "Subscribers"};
    return header(names, ColumnCount, s, o, role);
}
QVariant StreamsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= streams_.size() ||
        (role != Qt::DisplayRole && role != SortRole))
        return {};
    const admin::StreamStat& s = streams_.at(index.row());
    return index.column() == Stream ? QVariant(s.stream) : QVariant(s.subscribers);
}
void StreamsModel::apply(const admin::StreamsReport& report) {
    beginResetModel();
    streams_ = report.streams;
    hasReport_ = true;
    endResetModel();
}
std::optional<qint64> StreamsModel::subscribersOf(const QString& routingKey) const {
    for (const admin::StreamStat& s : streams_)
        if (s.stream == routingKey)
            return s.subscribers;
    return std::nullopt;
}

StickyModel::StickyModel(QObject* parent)
    : QAbstractTableModel(parent) {}
int StickyModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : static_cast<int>(notices_.size());
}
int StickyModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant StickyModel::headerData(int s, Qt::Orientation o, int role) const {
    static const char* const names[] = {"Until", "Level", "Title", "Body", "Id"};
    return header(names, ColumnCount, s, o, role);
}
QVariant StickyModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= notices_.size() ||
        (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    const StickyNotice& n = notices_.at(index.row());
    switch (index.column()) {
    case Until:
        return clock(n.expiresAtMs);
    case Level:
        return levelName(n.notice.level);
    case Title:
        return n.notice.title;
    case Body:
        return n.notice.body;
    case Id:
        return n.id;
    default:
        return {};
    }
}
void StickyModel::apply(const admin::StickyList& list) {
    beginResetModel();
    notices_ = list.notices;
    endResetModel();
}

AuditModel::AuditModel(QObject* parent)
    : QAbstractTableModel(parent) {}
int AuditModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : static_cast<int>(entries_.size());
}
int AuditModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant AuditModel::headerData(int s, Qt::Orientation o, int role) const {
    static const char* const names[] = {"When", "Who", "Action", "Target", "Detail"};
    return header(names, ColumnCount, s, o, role);
}
QVariant AuditModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= entries_.size() ||
        (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    const admin::AuditEntry& e = entries_.at(index.row());
    switch (index.column()) {
    case Time:
        return clock(e.atMs);
    case Who:
        return e.who;
    case Action:
        return e.action;
    case Target:
        return e.target;
    case Detail:
        return e.detail;
    default:
        return {};
    }
}
void AuditModel::apply(const admin::AuditReport& report) {
    beginResetModel();
    entries_ = report.entries;
    endResetModel();
}

TailModel::TailModel(QObject* parent)
    : QAbstractTableModel(parent) {}
int TailModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : static_cast<int>(lines_.size());
}
int TailModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant TailModel::headerData(int s, Qt::Orientation o, int role) const {
    static const char* const names[] = {"Received", "Stream", "Id", "Data"};
    return header(names, ColumnCount, s, o, role);
}
QVariant TailModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= lines_.size() ||
        (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    const Line& l = lines_.at(index.row());
    switch (index.column()) {
    case Time:
        return clock(l.atMs);
    case Stream:
        return l.stream;
    case Id:
        return l.id;
    case Data:
        return l.data;
    default:
        return {};
    }
}
void TailModel::append(const MessageEvent& m, qint64 atMs) {
    if (lines_.size() >= capacity_) {
        beginRemoveRows({}, 0, 0);
        lines_.removeFirst();
        endRemoveRows();
    }
    QString data;
    if (m.data.isObject())
        data = QString::fromUtf8(QJsonDocument(m.data.toObject()).toJson(QJsonDocument::Compact));
    else if (m.data.isArray())
        data = QString::fromUtf8(QJsonDocument(m.data.toArray()).toJson(QJsonDocument::Compact));
    else
        data = m.data.toVariant().toString();
    beginInsertRows({}, static_cast<int>(lines_.size()), static_cast<int>(lines_.size()));
    lines_.append(Line{atMs, m.stream, m.id, data});
    endInsertRows();
}
void TailModel::clear() {
    beginResetModel();
    lines_.clear();
    endResetModel();
}

} // namespace herald::console

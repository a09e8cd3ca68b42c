#pragma once

#include "shared/Admin.h"

#include <QAbstractTableModel>
#include <optional>

namespace herald::console {

// Top streams by subscribers, replaced by each streams report.
class StreamsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Stream, Subscribers, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1 };
    explicit StreamsModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void apply(const admin::StreamsReport& report);
    // Subscribers of a routing key in the last report; nullopt when it was not listed.
    std::optional<qint64> subscribersOf(const QString& routingKey) const;
    bool hasReport() const { return hasReport_; }

private:
    QList<admin::StreamStat> streams_;
    bool hasReport_ = false;
};

// The audit log (newest first), replaced by each audit report.
class AuditModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Who, Action, Target, Detail, ColumnCount };
    explicit AuditModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    void apply(const admin::AuditReport& report);

private:
    QList<admin::AuditEntry> entries_;
};

// The cluster's active sticky notices (soonest to lapse first), replaced by each list the node
// sends (on connect and on every change).
class StickyModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Until, Level, Title, Body, Id, ColumnCount };
    explicit StickyModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    void apply(const admin::StickyList& list);
    const StickyNotice& notice(int row) const { return notices_.at(row); }

private:
    QList<StickyNotice> notices_;
};

// Messages seen on the tailed stream, newest last, capped so a busy stream cannot eat memory.
class TailModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Stream, Id, Data, ColumnCount };
    explicit TailModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    void append(const MessageEvent& message, qint64 atMs);
    void clear();
    void setCapacity(int rows) { capacity_ = rows; }

private:
    struct Line {
        qint64 atMs;
        QString stream, id, data;
    };
    QList<Line> lines_;
    int capacity_ = 2000;
};

} // namespace herald::console

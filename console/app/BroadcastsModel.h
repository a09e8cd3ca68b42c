#pragma once

#include "shared/Admin.h"

#include <QAbstractTableModel>

namespace herald::console {

// The broadcasts sent from this console, newest first, each with its live delivery report: the
// server sends a broadcast-report again whenever another node reports, so the counts grow in place.
class BroadcastsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Target, Title, Level, Delivered, PerNode, ColumnCount };
    enum Role { RequestIdRole = Qt::UserRole + 1, SortRole, LevelRole };

    struct Entry {
        admin::BroadcastCommand command;
        qint64 sentAtMs = 0;
        QString messageId;
        QMap<QString, qint64> deliveredByNode;
        bool reported = false;
        qint64 delivered() const;
    };

    explicit BroadcastsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void addSent(const admin::BroadcastCommand& command, qint64 sentAtMs);
    void applyReport(const admin::BroadcastReport& report);

    const Entry& entry(int row) const { return entries_.at(row); }
    int rowOf(const QString& requestId) const;

private:
    QList<Entry> entries_;
};

QString describeTarget(const admin::Target& target);

} // namespace herald::console

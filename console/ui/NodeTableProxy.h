#pragma once

#include <QSortFilterProxyModel>

namespace herald::console {

// Sorts the node table numerically and colours rows by state. Colours live here, not in
// NodesModel, because console/app has no GUI types.
class NodeTableProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit NodeTableProxy(QObject* parent = nullptr);
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

} // namespace herald::console
